"""Optimal assignment (the Hungarian method) for pairing label lines with extracted lines.

An extractor may return lines in another order, split one line in two or miss one; comparing
line *i* with line *i* would then count every later line as wrong. Lines are therefore paired
so that the total similarity of all pairs is as large as possible, and only then compared.

Implemented here (about forty lines, O(n³)) rather than taken from SciPy: it is the only
numerical routine intake needs, order documents have at most a few hundred lines, and a
100 MB dependency for one function would burden every installation. Tests check it against
brute force over all permutations.
"""

from __future__ import annotations

from collections.abc import Sequence

_INF = float("inf")


def max_weight_assignment(weights: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Pair rows with columns so that the sum of ``weights[row][col]`` is maximal.

    Args:
        weights: a rectangular matrix (rows × columns) of non-negative similarities.

    Returns:
        ``(row, col)`` pairs, each row and each column at most once, sorted by row; exactly
        ``min(rows, columns)`` pairs (callers drop pairs whose weight is zero if they wish).
    """
    rows = len(weights)
    cols = len(weights[0]) if rows else 0
    if rows == 0 or cols == 0:
        return []
    transposed = rows > cols
    matrix = [list(r) for r in (zip(*weights, strict=True) if transposed else weights)]
    n, m = len(matrix), len(matrix[0])
    top = max(max(r) for r in matrix)
    cost = [[top - w for w in r] for r in matrix]  # minimise cost = maximise weight
    # Shortest augmenting paths with potentials (1-based; column 0 is a sentinel).
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row assigned to column j
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [_INF] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = owner[j0], _INF, 0
            for j in range(1, m + 1):
                if not used[j]:
                    reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if reduced < minv[j]:
                        minv[j], way[j] = reduced, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    if transposed:
        pairs = [(c, r) for r, c in pairs]
    return sorted(pairs)
