"""Containers: zip attachments, Outlook's winmail.dat, and files embedded in PDFs.

Every container is built here: zip archives with zipfile (zip bombs of 100 MB of zeros,
nested archives, AES-encrypted members with pyzipper), winmail.dat files with the TNEF writer
in ``tests/tnef_writer.py`` (each one first read by Debian's independent ``tnef`` program),
and PDFs with embedded files through pdfium. The parse stage reads them for real, and a
batch of hostile messages goes through ``intake process`` beside a good one.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import struct
import subprocess
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import pyzipper
from reportlab.lib.pagesizes import A5
from reportlab.pdfgen import canvas

from intake.config import Limits, OcrConfig
from intake.documents import parse_message
from intake.documents.problems import ALL_CODES
from intake.documents.tnef import parse_properties
from intake.extract.structured import extract_structured
from intake.models import Message, ParsedMessage, Problem
from tests import tnef_writer
from tests.conftest import run_intake
from tests.test_structured import ubl_order

MB = 1024 * 1024


def message(raw: bytes, *, kind: str = "file", filename: str | None = None) -> Message:
    return Message(
        id="01BOX",
        source="folder:test",
        source_ref=filename or "INBOX/1",
        kind=kind,  # type: ignore[arg-type]
        content_hash=hashlib.sha256(raw).hexdigest(),
        filename=filename,
        received_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        raw=raw,
    )


def parse(raw: bytes, name: str | None = None, limits: Limits | None = None) -> ParsedMessage:
    kind = "email" if name is None else "file"
    parsed = parse_message(message(raw, kind=kind, filename=name), limits or Limits(), OcrConfig())
    for item in parsed.problems:
        assert item.code in ALL_CODES, item
    return parsed


def only(parsed: ParsedMessage, code: str) -> Problem:
    found = [p for p in parsed.problems if p.code == code]
    assert len(found) == 1, parsed.problems
    return found[0]


def text_pdf(*lines: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A5)
    for number, line in enumerate(lines):
        c.drawString(40, 500 - 18 * number, line)
    c.save()
    return buf.getvalue()


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def email_with(attachments: list[tuple[bytes, str, str]], body: str = "Order attached.") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Buyer <ann@acme.example>"
    msg["To"] = "orders@yourcompany.example.com"
    msg["Subject"] = "Order"
    msg.set_content(body)
    for data, mime, name in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


ORDER_PDF_LINES = ("PURCHASE ORDER PO-4711", "WID-100  Blue widget  12  4.50")


# --------------------------------------------------------------------------- zip


def test_zip_members_become_attachments_named_under_the_archive() -> None:
    archive = zip_of(
        {
            "PO-4711.pdf": text_pdf(*ORDER_PDF_LINES),
            "orders/lines.csv": b"code,qty\nWID-100,12\n",
            "__MACOSX/orders/._lines.csv": b"\x00\x05\x16\x07junk",
            "orders/": b"",
        }
    )
    parsed = parse(email_with([(archive, "application/zip", "orders.zip")]))
    body, pdf, csv = parsed.documents
    assert parsed.problems == ()
    assert body.origin.kind == "body"
    assert pdf.origin.path == ("orders.zip", "PO-4711.pdf") and pdf.origin.kind == "attachment"
    assert "PO-4711" in pdf.text
    assert (
        csv.origin.path == ("orders.zip", "orders/lines.csv") and csv.origin.filename == "lines.csv"
    )
    assert csv.tables[0].rows[1] == ("WID-100", "12")


def test_zip_bomb_of_zeros_is_refused_before_it_is_unpacked() -> None:
    archive = zip_of({"order.pdf": b"\0" * (100 * MB)})
    assert len(archive) < 200 * 1024  # 100 MB of zeros compress about 1000 times
    parsed = parse(email_with([(archive, "application/zip", "orders.zip")]))
    assert [d.origin.kind for d in parsed.documents] == ["body"]  # the rest is still read
    problem = only(parsed, "archive_ratio_too_high")
    assert "orders.zip" in problem.message and "zip bomb" in problem.message
    assert "limits.max_zip_ratio" in problem.message


def test_zip_expanding_past_the_message_limit_is_refused() -> None:
    noise = random.Random(7)
    archive = zip_of(
        {f"part-{i}.txt": "".join(noise.choices("ACGT", k=MB)).encode() for i in range(3)}
    )
    assert len(archive) < MB  # about 4 times smaller: a plain archive, not a bomb
    parsed = parse(archive, "parts.zip", Limits(max_message_bytes=2 * MB))
    problem = only(parsed, "archive_too_large")
    assert "limits.max_message_bytes" in problem.message and parsed.documents == ()


def test_zip_with_too_many_files_is_refused() -> None:
    archive = zip_of({f"note-{i}.txt": f"note {i}".encode() for i in range(30)})
    parsed = parse(archive, "notes.zip", Limits(max_zip_members=20))
    problem = only(parsed, "archive_too_many_files")
    assert "30 files" in problem.message and "limits.max_zip_members" in problem.message


def test_zips_nested_deeper_than_the_limit_are_not_opened() -> None:
    level3 = zip_of({"deepest.txt": b"PO-3 deepest order text"})
    level2 = zip_of({"level3.zip": level3, "inner.txt": b"PO-2 inner order text"})
    level1 = zip_of({"level2.zip": level2, "outer.txt": b"PO-1 outer order text"})
    parsed = parse(level1, "level1.zip")
    texts = {d.origin.path: d.text for d in parsed.documents}
    assert texts[("level1.zip", "outer.txt")] == "PO-1 outer order text"
    assert texts[("level1.zip", "level2.zip", "inner.txt")] == "PO-2 inner order text"
    problem = only(parsed, "nesting_too_deep")
    assert problem.origin is not None
    assert problem.origin.path == ("level1.zip", "level2.zip", "level3.zip")
    assert "limits.max_zip_depth" in problem.message
    deeper = parse(level1, "level1.zip", Limits(max_zip_depth=3))
    assert any(d.text == "PO-3 deepest order text" for d in deeper.documents)


def test_encrypted_and_damaged_members_are_named_and_the_others_read() -> None:
    buf = io.BytesIO()
    with pyzipper.AESZipFile(buf, "w", compression=pyzipper.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", b"PO-77 order notes")
        archive.setpassword(b"secret")
        archive.setencryption(pyzipper.WZ_AES)
        archive.writestr("locked.pdf", text_pdf(*ORDER_PDF_LINES))
    parsed = parse(buf.getvalue(), "mixed.zip")
    (doc,) = parsed.documents
    assert doc.text == "PO-77 order notes"
    problem = only(parsed, "archive_encrypted")
    assert problem.origin is not None and problem.origin.path == ("mixed.zip", "locked.pdf")
    stored = zip_of(
        {"a.txt": b"first member text", "b.txt": b"second member text"}, zipfile.ZIP_STORED
    )
    damaged = stored.replace(b"second member text", b"sec0nd member text")  # CRC no longer fits
    parsed = parse(damaged, "damaged.zip")
    assert [d.text for d in parsed.documents] == ["first member text"]
    assert "b.txt" in only(parsed, "archive_corrupt").message


def test_truncated_zip_is_corrupt() -> None:
    archive = zip_of({"PO-4711.pdf": text_pdf(*ORDER_PDF_LINES)})
    parsed = parse(archive[: len(archive) // 2], "orders.zip")
    assert parsed.documents == () and only(parsed, "archive_corrupt")


# --------------------------------------------------------------------------- winmail.dat


def tnef_listing(data: bytes, tmp_path: Path) -> dict[str, bytes]:
    """Attachments as Debian's tnef program extracts them: the independent check of a fixture."""
    binary = shutil.which("tnef")
    if binary is None:
        pytest.skip("tnef is not installed (apt-get install tnef; .ci/install-system-packages)")
    source = tmp_path / "winmail.dat"
    source.write_bytes(data)
    out = tmp_path / "tnef-out"
    out.mkdir()
    subprocess.run([binary, "-C", str(out), str(source)], check=True, capture_output=True)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_winmail_dat_body_and_attachments(tmp_path: Path) -> None:
    pdf = text_pdf(*ORDER_PDF_LINES)
    csv = b"code;qty;price\nWID-100;12;4,50\n"
    winmail = tnef_writer.winmail(
        body="Bitte liefern Sie gemäß Bestellung PO-4711.\r\nGrüße, Anna",
        attachments=[("Bestellung PO-4711.pdf", pdf), ("Positionen.csv", csv)],
    )
    assert tnef_listing(winmail, tmp_path) == {"Bestellung PO-4711.pdf": pdf, "Positionen.csv": csv}
    raw = email_with([(winmail, "application/ms-tnef", "winmail.dat")], body="See winmail.")
    parsed = parse(raw)
    assert parsed.problems == ()
    body, tnef_body, pdf_doc, csv_doc = parsed.documents
    assert body.text == "See winmail."
    assert tnef_body.origin.path == ("winmail.dat",)
    assert tnef_body.text == "Bitte liefern Sie gemäß Bestellung PO-4711.\nGrüße, Anna"
    assert pdf_doc.origin.path == ("winmail.dat", "Bestellung PO-4711.pdf")
    assert "WID-100" in pdf_doc.text
    assert csv_doc.origin.path == ("winmail.dat", "Positionen.csv")
    assert csv_doc.tables[0].rows[1] == ("WID-100", "12", "4,50")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "html": "<html><body><p>Order <b>PO-88</b></p><table><tr><td>WID-100</td><td>12</td></tr></table></body></html>"
            },
            ("Order PO-88", "WID-100"),
        ),
        (
            {
                "rtf": r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}\f0 Please ship order PO-99\par 12 x WID-100\par}"
            },
            ("Please ship order PO-99", "12 x WID-100"),
        ),
    ],
    ids=["html", "compressed-rtf"],
)
def test_winmail_dat_html_and_rtf_bodies(
    body: dict[str, str], expected: tuple[str, str], tmp_path: Path
) -> None:
    winmail = tnef_writer.winmail(**body)  # type: ignore[arg-type]
    tnef_listing(winmail, tmp_path)  # the independent reader accepts it
    (doc,) = parse(winmail, "winmail.dat").documents
    for text in expected:
        assert text in doc.text


def test_outlook_message_attached_inside_winmail_dat_is_read_too(tmp_path: Path) -> None:
    inner = tnef_writer.winmail(body="forwarded order", attachments=[("inner.txt", b"PO-5 inner")])
    outer = tnef_writer.winmail(
        body="see the attached mail", embedded_messages=[("Fwd order", inner)]
    )
    tnef_listing(outer, tmp_path)
    parsed = parse(outer, "winmail.dat")
    texts = {d.origin.path: d.text for d in parsed.documents}
    assert texts[("winmail.dat",)] == "see the attached mail"
    assert texts[("winmail.dat", "Fwd order")] == "forwarded order"
    assert texts[("winmail.dat", "Fwd order", "inner.txt")] == "PO-5 inner"


def test_damaged_and_hostile_winmail_dat_are_problems_not_hangs() -> None:
    good = tnef_writer.winmail(body="x", attachments=[("a.pdf", text_pdf(*ORDER_PDF_LINES))])
    parsed = parse(email_with([(good[:60], "application/ms-tnef", "winmail.dat")]))
    assert [d.origin.kind for d in parsed.documents] == ["body"]
    assert "winmail.dat" in only(parsed, "tnef_corrupt").message
    # tnefparse loops 2**32 times over this property count; intake checks it against the data
    hostile = tnef_writer.winmail()
    hostile += tnef_writer.attribute(1, tnef_writer.ATT_MAPI_PROPS, struct.pack("<I", 0xFFFFFFFF))
    parsed = parse(hostile, "winmail.dat")
    assert "MAPI properties claimed" in only(parsed, "tnef_corrupt").message
    with pytest.raises(ValueError, match="values claimed"):
        parse_properties(struct.pack("<IHHI", 1, 0x1003, 0x1000, 0xFFFFFFF0))


# --------------------------------------------------------------------------- files embedded in PDFs


def pdf_with_embedded(pdf: bytes, files: dict[str, bytes]) -> bytes:
    document = pdfium.PdfDocument(pdf)
    for name, data in files.items():
        encoded = (name + "\0").encode("utf-16-le")
        wide = (pdfium_raw.FPDF_WCHAR * (len(encoded) // 2)).from_buffer_copy(encoded)
        attachment = pdfium_raw.FPDFDoc_AddAttachment(document, wide)
        assert pdfium_raw.FPDFAttachment_SetFile(attachment, document, data, len(data))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pdf_with_embedded_ubl_gives_both_documents_and_a_structured_order() -> None:
    hybrid = pdf_with_embedded(
        text_pdf("PURCHASE ORDER PO-DA-7001", "see the XML"), {"order.xml": ubl_order().encode()}
    )
    parsed = parse(hybrid, "PO-DA-7001.pdf")
    pdf, xml = parsed.documents
    assert pdf.media_type == "application/pdf" and xml.media_type == "application/xml"
    assert xml.origin.path == ("PO-DA-7001.pdf", "order.xml")
    order = extract_structured(parsed)
    assert order is not None and order.po_number.value == "PO-DA-7001"
    assert order.po_number.evidence is not None and order.po_number.evidence.document_id == xml.id


def test_embedded_file_over_the_size_limit_is_named_and_the_pages_read() -> None:
    hybrid = pdf_with_embedded(
        text_pdf(*ORDER_PDF_LINES), {"big.xml": b"<a>" + b"x" * 200_000 + b"</a>"}
    )
    parsed = parse(hybrid, "po.pdf", Limits(max_attachment_bytes=100_000))
    (pdf,) = parsed.documents
    assert "PO-4711" in pdf.text
    problem = only(parsed, "attachment_too_large")
    assert problem.origin is not None and problem.origin.path == ("po.pdf", "big.xml")


def test_pdf_deep_in_archives_is_read_without_its_embedded_files() -> None:
    hybrid = pdf_with_embedded(text_pdf(*ORDER_PDF_LINES), {"order.xml": ubl_order().encode()})
    nested = zip_of({"inner.zip": zip_of({"po.pdf": hybrid})})
    parsed = parse(nested, "outer.zip")
    (pdf,) = parsed.documents
    assert pdf.origin.path == ("outer.zip", "inner.zip", "po.pdf") and "PO-4711" in pdf.text
    problem = only(parsed, "nesting_too_deep")
    assert problem.origin is not None and problem.origin.filename == "order.xml"


# --------------------------------------------------------------------------- a hostile batch


def locked_xlsx() -> bytes:
    import openpyxl
    from msoffcrypto.format.ooxml import OOXMLFile

    workbook = openpyxl.Workbook()
    workbook.active.append(["Code", "Qty"])
    plain, locked = io.BytesIO(), io.BytesIO()
    workbook.save(plain)
    plain.seek(0)
    OOXMLFile(plain).encrypt("s3cret", locked)
    return locked.getvalue()


@pytest.mark.slow
def test_hostile_batch_goes_to_review_with_reasons_and_the_good_order_is_drafted(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    from tests.test_structured import BILLION_LAUGHS, ubl_email

    inbox = tmp_path / "inbox"
    good = ubl_email(tmp_path, ubl_order(), "50-good.eml")
    hostile = {
        "10-zip-bomb.eml": email_with(
            [(zip_of({"po.pdf": b"\0" * (100 * MB)}), "application/zip", "po.zip")]
        ),
        "20-deep.zip": zip_of({"a.zip": zip_of({"b.zip": zip_of({"c.txt": b"deep"})})}),
        "30-winmail.eml": email_with(
            [
                (
                    tnef_writer.winmail(body="cut", attachments=[("a.pdf", b"%PDF-1.4")])[:70],
                    "application/ms-tnef",
                    "winmail.dat",
                )
            ]
        ),
        "40-entities.xml": BILLION_LAUGHS.encode(),
        "60-locked.xlsx": locked_xlsx(),
    }
    for name, data in hostile.items():
        (inbox / name).write_bytes(data)
    result = run_intake(["process", str(inbox), "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    rows = {Path(r["source_ref"]).name: r for r in json.loads(result.stdout)}
    assert rows[good.name]["state"] == "drafted", rows[good.name]["reasons"]
    expected = {
        "10-zip-bomb.eml": "zip bomb",
        "20-deep.zip": "limits.max_zip_depth",
        "30-winmail.eml": "winmail.dat is damaged",
        "40-entities.xml": "XML bombs",
        "60-locked.xlsx": "password-protected",
    }
    for name, phrase in expected.items():
        row = rows[name]
        assert row["state"] == "in_review", row
        assert phrase in " ".join(row["reasons"]), row["reasons"]
