"""Signed minutes (issue 17): the office signs with its key (PKCS#12, and a real SoftHSM2 token through PKCS#11),
a person's signed copy is checked and kept, any PDF is verified; pyHanko's validator and poppler's pdfsig both
call the signatures valid (trusting the CA made here), qpdf finds the files clean; bad keys and bad uploads are
refused with a reason, store nothing and log no secret. Also the printed form of Nghị định 30/2020."""

import io
import logging
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from dialogue_app import pdf as minutes_pdf
from dialogue_app.attendance.models import Attendee
from dialogue_app.extensions import db
from dialogue_app.issues import services as issue_services
from dialogue_app.minutes import services, signed, signing
from dialogue_app.minutes.models import SignedMinutes
from dialogue_app.officetime import office_zone

from ..conftest import csrf_token_from
from . import pki
from .test_minutes import flat, read_pdf, world  # noqa: F401  (the fixture)

PIN, PASSWORD = "27183", "mật khẩu p12"
TOKEN, KEY_LABEL = "dialogue-office", "office-key"


def need(tool: str) -> str:
    """The path of a Debian tool the test needs (make test installs it); skipped without it, failed under CI."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian: poppler-utils / qpdf / softhsm2 / libnss3-tools; make test)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def authority(tmp_path_factory):
    """The test CA, the office's certificate (with a CRL served here), a person's, a TSA, the files."""
    folder = tmp_path_factory.mktemp("pki")
    ca = pki.make_ca()
    server = pki.AuthorityServer(ca, pki.issue(ca, "Dialogue Test TSA", timestamping=True))
    office = pki.issue(ca, "Chi cục Hải quan Khu vực A", crl_url=server.url + "/ca.crl")
    (folder / "ca.pem").write_bytes(ca.pem())
    pki.write_pkcs12(folder / "office.p12", office, ca, PASSWORD)
    now = datetime.now(UTC)
    pki.write_pkcs12(folder / "expired.p12", pki.issue(ca, "Hết hạn", not_before=now - timedelta(days=400),
                                                       not_after=now - timedelta(days=2)), ca, PASSWORD)
    pki.write_pkcs12(folder / "no_commitment.p12", pki.issue(ca, "Không chống chối bỏ", commitment=False), ca,
                     PASSWORD)
    pki.write_pkcs12(folder / "future.p12", pki.issue(ca, "Chưa hiệu lực", not_before=now + timedelta(days=3),
                                                      not_after=now + timedelta(days=300)), ca, PASSWORD)
    yield {"ca": ca, "office": office, "person": pki.issue(ca, "Nguyễn Văn Hùng", org="Cá nhân"),
           "folder": folder, "tsa": server.url + "/tsa", "server": server}
    server.close()


@pytest.fixture(scope="session")
def softhsm(authority, tmp_path_factory):
    if not pki.softhsm_available():
        need("softhsm2-util")
        pytest.skip("SoftHSM2's module is missing: " + pki.SOFTHSM_MODULE)
    pki.make_softhsm_token(tmp_path_factory.mktemp("softhsm"), authority["office"], authority["ca"],
                           label=TOKEN, pin=PIN, key_label=KEY_LABEL)
    return {"SIGNING_PKCS11_MODULE": pki.SOFTHSM_MODULE, "SIGNING_PKCS11_TOKEN_LABEL": TOKEN,
            "SIGNING_PKCS11_PIN": PIN, "SIGNING_PKCS11_KEY_LABEL": KEY_LABEL}


@pytest.fixture(scope="session")
def nss(authority, tmp_path_factory):
    """An NSS database trusting the test CA, for poppler's pdfsig."""
    certutil = need("certutil")
    folder = tmp_path_factory.mktemp("nss")
    subprocess.run([certutil, "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    subprocess.run([certutil, "-A", "-d", f"sql:{folder}", "-n", "dialogue-test-ca", "-t", "CT,C,C",
                    "-i", str(authority["folder"] / "ca.pem")], check=True, capture_output=True)
    return folder


@pytest.fixture
def pkcs12_config(authority):
    folder = authority["folder"]
    return {"SIGNING_PKCS12_PATH": str(folder / "office.p12"), "SIGNING_PKCS12_PASSWORD": PASSWORD,
            "SIGNING_TRUST_ROOTS": str(folder / "ca.pem"), "SIGNING_TSA_URL": authority["tsa"]}


@pytest.fixture
def app_config(pkcs12_config):
    return pkcs12_config


@pytest.fixture
def final(request, units, make_user):
    """The October minutes, written and finalised; the unit's own manager signs."""
    people = request.getfixturevalue("world")  # tests/test_minutes.py's
    meeting = people["october"]
    db.session.add(Attendee(meeting_id=meeting.id, name="Phạm Thị Lan", organisation="Công ty Cổ phần Thép Phương Nam",
                            business_id=people["steel"].id, attendance="excused"))
    services.save_minutes(meeting, actor=people["organiser"], chair="Nguyễn Văn Hùng, Phó Chi cục trưởng",
                          secretary="Lê Thị Thu Trang", body="Doanh nghiệp trao đổi về thủ tục.")
    services.finalise_minutes(meeting, actor=people["organiser"])
    db.session.commit()
    people["unit_manager"] = make_user("manager", units["HCM-A"], name="Đỗ Minh Châu")
    return people


def pdfsig_says(nss, data: bytes, tmp_path) -> list[tuple[str, str]]:
    """(signature validation, certificate validation) per signature, as poppler's pdfsig reports them."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(data)
    out = subprocess.run([need("pdfsig"), "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"Signature Validation: (.+?)\n\s+- Certificate Validation: (.+?)\n", out)


def qpdf_clean(data: bytes, tmp_path) -> bool:
    path = tmp_path / "q.pdf"
    path.write_bytes(data)
    result = subprocess.run([need("qpdf"), "--check", str(path)], capture_output=True, text=True)
    return result.returncode == 0 and "No syntax or stream encoding errors found" in result.stdout


def pyhanko_statuses(data: bytes, ca) -> list:
    """pyHanko's own validator, called directly, trusting the test CA."""
    from asn1crypto import x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = x509.Certificate.load(ca.cert.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(io.BytesIO(data))
    return [validate_pdf_signature(sig, ValidationContext(trust_roots=[root], allow_fetching=False))
            for sig in reader.embedded_signatures]


def sign_as_person(data: bytes, person, ca, folder: Path) -> bytes:
    """What a person's token tool does: sign the PDF it was given, as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    p12 = pki.write_pkcs12(folder / "person.p12", person, ca, "x")
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=b"x")
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    output = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Chu-tri", subfilter=fields.SigSeedSubFilter.PADES),
                      signer, new_field_spec=fields.SigFieldSpec("Chu-tri", box=(300, 100, 500, 160))
                      ).sign_pdf(writer, output=output)
    return output.getvalue()


def stored_copies() -> int:
    return db.session.execute(select(func.count()).select_from(SignedMinutes)).scalar_one()


# --- The office signs --------------------------------------------------------------------------------------

def test_the_office_signs_final_minutes_and_the_pdf_becomes_the_signed_copy(api, client, final, authority, nss,
                                                                           tmp_path, caplog):
    meeting, manager = final["october"], final["unit_manager"]
    caller = api(manager)
    before = caller.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert before.status_code == 200 and b"/Sig" not in before.data.split(b"%%EOF")[0][-2000:]
    with caplog.at_level(logging.DEBUG):
        response = caller.post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    assert response.status_code == 201, response.json
    assert response.json["signer"] == "Chi cục Hải quan Khu vực A"
    assert response.json["signed_at"].endswith("+07:00")
    assert PASSWORD not in caplog.text

    after = caller.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    data = after.data
    assert data.startswith(before.data)  # the signature is an incremental update of the printed file
    assert caller.get(f"/meetings/{meeting.id}/minutes.pdf",
                      headers={"If-None-Match": after.headers["ETag"]}).status_code == 304

    # Checked by others: pyHanko's validator, poppler's pdfsig, qpdf.
    (status,) = pyhanko_statuses(data, authority["ca"])
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.valid  # RFC 3161, SIGNING_TSA_URL
    assert pdfsig_says(nss, data, tmp_path) == [("Signature is Valid.", "Certificate is Trusted.")]
    assert qpdf_clean(data, tmp_path)

    # B-LT: the chain and the CA's CRL (fetched from the URL in the certificate) are in the document's DSS.
    reader = signing.open_pdf(data)
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2 and len(dss["/CRLs"]) >= 1
    # Still the archive file: PDF/A-3b identification kept in the metadata.
    xmp = PdfReader(io.BytesIO(data)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" in xmp and b"pdfaid:conformance" in xmp

    # The verify endpoint says the same, in Vietnamese where it speaks, and fetches nothing a PDF names (the
    # certificate names the CRL's URL, fetched when signing).
    fetched = authority["server"].crl_requests
    assert fetched >= 1
    verdict = caller.post("/api/v1/signatures/verify", data={"file": (io.BytesIO(data), "bb.pdf")},
                          content_type="multipart/form-data")
    assert verdict.status_code == 200
    (one,) = verdict.json["signatures"]
    assert one["signer"] == "Chi cục Hải quan Khu vực A" and one["valid"] and one["intact"]
    assert one["covers_whole_document"] and one["timestamped"] and one["signed_at"].endswith("+07:00")
    assert authority["server"].crl_requests == fetched


def test_the_seal_is_drawn_over_the_chairs_signature_space_with_who_and_when(api, final, tmp_path):
    meeting = final["october"]
    api(final["unit_manager"]).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    data = signed.official_copy(services.get_minutes(meeting)).data
    source = tmp_path / "signed.pdf"
    source.write_bytes(data)
    flattened = tmp_path / "flat.pdf"
    subprocess.run([need("qpdf"), "--flatten-annotations=all", str(source), str(flattened)], check=True)
    reader = PdfReader(flattened)
    last = reader.pages[-1].extract_text()
    assert "CHỦ TRÌ" in last and "Nơi nhận" in last
    text = flat(last)
    assert "Cơ quan: Đơn vị HCM-A" in text and "Người ký: Chi cục Hải quan Khu vực A" in text
    when = re.search(r"Thời gian ký: (\S+)", text).group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", when)  # Vietnam time, ISO 8601
    # Where: the signature's widget lies in the right-hand (the chair's) half of the last page, below "CHỦ TRÌ".
    signed_reader = PdfReader(source)
    page = signed_reader.pages[-1]
    (widget,) = [a.get_object() for a in page["/Annots"] if a.get_object().get("/FT") == "/Sig"]
    left, bottom, right, top = (float(v) for v in widget["/Rect"])
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert width / 2 - 10 < left < right <= width - 15 * 72 / 25.4 and 40 < bottom < top < height
    # The seal: red pixels, all inside that box (drawn there, over the left of the chair's space).
    last_page = str(len(reader.pages))
    subprocess.run([need("pdftoppm"), "-r", "36", "-png", "-f", last_page, "-l", last_page,
                    str(flattened), str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    scale = image.width / width
    inside = outside = 0
    pixels = image.load()
    for y in range(image.height):
        for x in range(image.width):
            r, g, b = pixels[x, y]
            if r > 150 and g < 90 and b < 100:
                within = left * scale - 2 <= x <= right * scale + 2 and (height - top) * scale - 2 <= y <= (
                    height - bottom) * scale + 2
                inside, outside = inside + within, outside + (not within)
    assert inside > 40 and outside == 0
    # The lines beside the seal fit in the box (pyHanko once spread their letters over twice their width).
    words = subprocess.run([need("pdftotext"), "-bbox", "-f", last_page, "-l", last_page, str(flattened), "-"],
                           capture_output=True, text=True, check=True).stdout
    boxes = [tuple(float(v) for v in match.groups()) for match in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(?:Cơ quan|Người ký|Thời gian ký)',
        words)]
    assert len(boxes) == 3
    assert all(left - 1 <= x0 and x1 <= right + 1 and height - top - 1 <= y0 for x0, y0, x1, _y1 in boxes)


def test_signing_with_a_softhsm_token_through_pkcs11(api, app, final, softhsm, authority, nss, tmp_path, caplog):
    app.config.update(SIGNING_PKCS12_PATH=None, SIGNING_TSA_URL=None, **softhsm)
    meeting = final["october"]
    with caplog.at_level(logging.DEBUG):
        response = api(final["unit_manager"]).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    assert response.status_code == 201, response.json
    assert PIN not in caplog.text
    data = api(final["unit_manager"]).get(f"/meetings/{meeting.id}/minutes.pdf").data
    (status,) = pyhanko_statuses(data, authority["ca"])
    assert status.bottom_line
    assert pdfsig_says(nss, data, tmp_path) == [("Signature is Valid.", "Certificate is Trusted.")]
    assert qpdf_clean(data, tmp_path)


@pytest.mark.parametrize(("change", "reason"), [
    ({"SIGNING_PKCS11_PIN": "99999"}, "mã PIN"),
    ({"SIGNING_PKCS11_TOKEN_LABEL": "no-such-token"}, "token chưa được cắm"),
    ({"SIGNING_PKCS11_MODULE": "/nonexistent/libpkcs11.so"}, "thư viện PKCS#11"),
])
def test_a_token_that_cannot_sign_is_refused_clearly_and_nothing_is_kept(api, app, final, softhsm, change,
                                                                          reason, caplog):
    app.config.update(SIGNING_PKCS12_PATH=None, **{**softhsm, **change})
    with caplog.at_level(logging.DEBUG):
        response = api(final["unit_manager"]).post(f"/api/v1/meetings/{final['october'].id}/minutes/sign")
    assert response.status_code == 409
    assert response.json["error"]["message"].startswith("Biên bản chưa được ký: ")
    assert reason in response.json["error"]["message"]
    assert stored_copies() == 0
    assert PIN not in caplog.text and "99999" not in caplog.text


@pytest.mark.parametrize(("file", "reason"), [
    ("expired.p12", "đã hết hạn"), ("future.p12", "chưa có hiệu lực"), ("missing.p12", "Không đọc được tệp khóa"),
    ("no_commitment.p12", "chống chối bỏ"),  # a certificate for, say, TLS only: pyHanko's refusal, said
])
def test_a_certificate_out_of_its_validity_or_a_missing_file_is_refused(api, app, final, authority, file, reason):
    app.config.update(SIGNING_PKCS12_PATH=str(authority["folder"] / file))
    response = api(final["unit_manager"]).post(f"/api/v1/meetings/{final['october'].id}/minutes/sign")
    assert response.status_code == 409 and reason in response.json["error"]["message"], response.json
    assert stored_copies() == 0


def test_a_wrong_pkcs12_password_is_refused_and_not_logged(api, app, final, caplog):
    app.config.update(SIGNING_PKCS12_PASSWORD="sai mật khẩu")
    with caplog.at_level(logging.DEBUG):
        response = api(final["unit_manager"]).post(f"/api/v1/meetings/{final['october'].id}/minutes/sign")
    assert response.status_code == 409 and "mật khẩu" in response.json["error"]["message"]
    assert "sai mật khẩu" not in caplog.text and PASSWORD not in caplog.text
    assert stored_copies() == 0


def test_draft_minutes_are_not_signed(api, request, units, make_user):
    people = request.getfixturevalue("world")
    meeting = people["october"]
    services.save_minutes(meeting, actor=people["organiser"], chair="A", secretary="B")
    db.session.commit()
    response = api(make_user("manager", units["HCM-A"])).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    assert response.status_code == 409 and "đã hoàn tất" in response.json["error"]["message"]
    assert stored_copies() == 0


def test_who_may_sign(api, final, make_user, units):
    path = f"/api/v1/meetings/{final['october'].id}/minutes/sign"
    assert api(final["other_branch"]).post(path).status_code == 404  # does not see the meeting
    assert api(final["manager"]).post(path).status_code == 403  # the department above reads, does not sign
    assert api(final["coffee_user"]).post(path).status_code == 403
    assert stored_copies() == 0
    assert api(final["organiser"]).post(path).status_code == 201  # an organiser of the unit
    assert api(make_user("admin")).post(path).status_code == 201  # an admin, on top of it


def test_minutes_printing_a_sensitive_issue_are_signed_by_a_manager_and_not_served_to_organisers(
        api, final, topics):
    meeting = final["october"]
    sensitive = next(t for t in topics.values() if t.sensitive)
    issue = issue_services.create_issue(title="Phản ánh thái độ công chức", business=final["coffee"],
                                        channel="meeting", topic=sensitive, unit=meeting.unit,
                                        actor=final["organiser"], meeting=meeting)
    # Recorded before the minutes were finalised: they print it (one recorded afterwards they would not).
    issue.created_at = services.get_minutes(meeting).finalised_at - timedelta(hours=1)
    db.session.commit()
    path = f"/api/v1/meetings/{meeting.id}/minutes/sign"
    assert api(final["organiser"]).post(path).status_code == 403
    assert api(final["unit_manager"]).post(path).status_code == 201
    organisers = api(final["organiser"]).get(f"/meetings/{meeting.id}/minutes.pdf")
    assert organisers.headers["ETag"].strip('"').startswith("signed-") is False
    assert "Phản ánh thái độ" not in read_pdf(organisers.data)[1]
    managers = api(final["unit_manager"]).get(f"/meetings/{meeting.id}/minutes.pdf")
    assert managers.headers["ETag"].strip('"').startswith("signed-")


def test_businesses_keep_reading_their_own_version(api, final):
    meeting = final["october"]
    api(final["unit_manager"]).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    response = api(final["coffee_user"]).get(f"/meetings/{meeting.id}/minutes.pdf")
    assert response.status_code == 200 and not response.headers["ETag"].strip('"').startswith("signed-")
    assert "Thủ tục hoàn thuế" not in read_pdf(response.data)[1]  # the steel company's issue


# --- Amendments ----------------------------------------------------------------------------------------

def test_an_amendment_makes_a_new_version_to_sign_and_the_signed_one_stays(api, final, tmp_path):
    meeting, caller = final["october"], api(final["unit_manager"])
    first = caller.post(f"/api/v1/meetings/{meeting.id}/minutes/sign").json
    signed_etag = caller.get(f"/meetings/{meeting.id}/minutes.pdf").headers["ETag"]
    response = caller.put(f"/api/v1/meetings/{meeting.id}/minutes",
                          json={"body": "Bổ sung ý kiến doanh nghiệp.", "amendment_note": "Bổ sung ý kiến"})
    assert response.status_code == 200
    amended = caller.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert amended.headers["ETag"] != signed_etag and not amended.headers["ETag"].strip('"').startswith("signed-")
    assert "Bổ sung ý kiến doanh nghiệp" in read_pdf(amended.data)[1]
    old = caller.get(first["pdf_url"].removeprefix("http://localhost"))
    assert old.status_code == 200 and old.headers["ETag"] == signed_etag
    assert "Bổ sung ý kiến doanh nghiệp" not in read_pdf(old.data)[1]
    second = caller.post(f"/api/v1/meetings/{meeting.id}/minutes/sign").json
    assert second["revision"] == first["revision"] + 1
    resigned = caller.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert resigned.headers["ETag"].strip('"').startswith("signed-") and resigned.headers["ETag"] != signed_etag


# --- A person signs elsewhere --------------------------------------------------------------------------

def upload(caller, meeting, data: bytes):
    return caller.post(f"/api/v1/meetings/{meeting.id}/minutes/signed",
                       data={"file": (io.BytesIO(data), "signed.pdf")}, content_type="multipart/form-data")


def test_a_copy_signed_with_a_persons_token_is_checked_and_kept_then_the_office_seals_it(
        api, final, authority, nss, tmp_path):
    meeting, caller = final["october"], api(final["organiser"])
    downloaded = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    signed_by_chair = sign_as_person(downloaded, authority["person"], authority["ca"], tmp_path)
    response = upload(caller, meeting, signed_by_chair)
    assert response.status_code == 201, response.json
    assert response.json["signer"] == "Nguyễn Văn Hùng" and response.json["source"] == "upload"
    served = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    assert served == signed_by_chair
    # The office's seal goes on top of the chair's signature; both stay valid.
    assert caller.post(f"/api/v1/meetings/{meeting.id}/minutes/sign").status_code == 201
    both = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    assert both.startswith(signed_by_chair)
    statuses = pyhanko_statuses(both, authority["ca"])
    assert len(statuses) == 2 and all(s.intact and s.valid and s.trusted for s in statuses)
    assert pdfsig_says(nss, both, tmp_path) == [("Signature is Valid.", "Certificate is Trusted.")] * 2
    assert qpdf_clean(both, tmp_path)
    verdict = caller.post("/api/v1/signatures/verify", data={"file": (io.BytesIO(both), "bb.pdf")},
                          content_type="multipart/form-data").json["signatures"]
    assert [(v["signer"], v["valid"], v["intact"], v["covers_whole_document"]) for v in verdict] == [
        ("Nguyễn Văn Hùng", True, True, False), ("Chi cục Hải quan Khu vực A", True, True, True)]


def test_an_upload_that_drops_the_signatures_already_made_is_refused(api, final, authority, tmp_path):
    meeting, caller = final["october"], api(final["unit_manager"])
    unsigned = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    assert caller.post(f"/api/v1/meetings/{meeting.id}/minutes/sign").status_code == 201
    late = sign_as_person(unsigned, authority["person"], authority["ca"], tmp_path)  # signed the old download
    response = upload(caller, meeting, late)
    assert response.status_code == 422 and "Chi cục Hải quan Khu vực A" in response.json["error"]["message"]
    assert stored_copies() == 1
    # Signed on top of the sealed copy, it is kept.
    sealed = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    assert upload(caller, meeting, sign_as_person(sealed, authority["person"], authority["ca"], tmp_path)
                  ).status_code == 201
    assert upload(caller, meeting, late).status_code == 422


def test_uploads_that_are_not_the_document_with_signatures_added_are_refused(api, final, authority, tmp_path):
    meeting, caller = final["october"], api(final["organiser"])
    downloaded = caller.get(f"/meetings/{meeting.id}/minutes.pdf").data
    person, ca = authority["person"], authority["ca"]

    def refused(data: bytes, words: str):
        response = upload(caller, meeting, data)
        assert response.status_code == 422, response.json
        assert words in response.json["error"]["message"], response.json["error"]["message"]

    # Another document, signed.
    other = caller.get(f"/meetings/{final['september'].id}/minutes.pdf").data
    refused(sign_as_person(other, person, ca, tmp_path), "không phải văn bản đã hoàn thành")
    # The document itself, unsigned.
    refused(downloaded, "Chưa có chữ ký nào")
    # A page appended after signing.
    chair = sign_as_person(downloaded, person, ca, tmp_path)
    writer = PdfWriter(io.BytesIO(chair), incremental=True)
    writer.add_blank_page()
    appended = io.BytesIO()
    writer.write(appended)
    refused(appended.getvalue(), "chỉ được thêm chữ ký")
    # Signed by a certificate of no trusted CA.
    stranger = pki.make_ca("Tự cấp")
    refused(sign_as_person(downloaded, pki.issue(stranger, "Người lạ"), stranger, tmp_path), "không được chấp nhận")
    # Encrypted.
    locked = PdfWriter(clone_from=PdfReader(io.BytesIO(chair)))
    locked.encrypt("mở")
    out = io.BytesIO()
    locked.write(out)
    refused(out.getvalue(), "đã bị mã hóa")
    # Not a PDF at all.
    refused(b"PK\x03\x04 a zip file", "không phải PDF")
    assert stored_copies() == 0


def test_a_100_mb_upload_is_refused_before_it_is_read(api, final):
    caller = api(final["organiser"])
    boundary = "dialogue-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-1.7\n" + b"0" * (100 * 1024 * 1024) + \
        f"\r\n--{boundary}--\r\n".encode()
    response = caller.post(f"/api/v1/meetings/{final['october'].id}/minutes/signed", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413 and response.json["error"]["message"]
    assert stored_copies() == 0


def test_a_100_mb_file_on_the_page_is_refused_with_a_message(client, login, final):
    login(final["organiser"])
    meeting = final["october"]
    boundary = "dialogue-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-1.7\n" + b"0" * (100 * 1024 * 1024) + \
        f"\r\n--{boundary}--\r\n".encode()
    response = client.post(f"/meetings/{meeting.id}/minutes/signed", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"Referer": f"http://localhost/meetings/{meeting.id}/minutes"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tệp quá lớn" in page
    assert stored_copies() == 0


# --- Pages ---------------------------------------------------------------------------------------------

def test_the_minutes_page_signs_and_lists_signed_copies_in_vietnamese(client, login, final):
    meeting = final["october"]
    login(final["organiser"])
    page = client.get(f"/meetings/{meeting.id}/minutes").get_data(as_text=True)
    assert "Chữ ký số" in page and "Ký bằng khóa của cơ quan" in page and "vắng có lý do" in page
    response = client.post(f"/meetings/{meeting.id}/minutes/sign", data={"csrf_token": csrf_token_from(page)},
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Chi cục Hải quan Khu vực A" in text and "Tải về" in text
    copy = signed.official_copy(services.get_minutes(meeting))
    assert client.get(f"/meetings/{meeting.id}/minutes/signed/{copy.id}.pdf").data == copy.data


def test_the_verify_page_says_what_each_signature_is_worth(client, login, final, api):
    meeting = final["october"]
    api(final["unit_manager"]).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    data = signed.official_copy(services.get_minutes(meeting)).data
    login(final["coffee_user"])  # anyone signed in may verify a PDF they were given
    token = csrf_token_from(client.get("/signatures/verify").get_data(as_text=True))
    page = client.post("/signatures/verify", data={"csrf_token": token, "file": (io.BytesIO(data), "bb.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Chi cục Hải quan Khu vực A" in page
    for label in ("Hợp lệ", "Không thay đổi từ khi ký", "Bao trùm toàn bộ văn bản", "Chứng thư số tin cậy"):
        assert f"<dt>{label}</dt><dd>có</dd>" in page, label
    page = client.post("/signatures/verify", data={"csrf_token": token, "file": (io.BytesIO(b"not a pdf"), "x.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 422 and "không phải PDF" in page.get_data(as_text=True)


def test_a_changed_byte_makes_the_signature_not_intact(final, api, authority):
    meeting = final["october"]
    api(final["unit_manager"]).post(f"/api/v1/meetings/{meeting.id}/minutes/sign")
    data = signed.official_copy(services.get_minutes(meeting)).data
    at = data.index(b"stream\n") + 200  # inside the first stream, well within the signed bytes
    tampered = data[:at] + b"X" + data[at + 1:]
    (report,) = signing.verify_pdf(tampered, signing.load_certificates(str(authority["folder"] / "ca.pem")))
    assert not report.valid and not report.intact and report.problems


# --- The printed form (Nghị định 30/2020, Phụ lục I) -------------------------------------------------------

def test_an_excused_attendee_is_printed_vang_co_ly_do(api, final):
    text = read_pdf(api(final["unit_manager"]).get(f"/meetings/{final['october'].id}/minutes.pdf").data)[1]
    assert "Phạm Thị Lan" in text and "Vắng có lý do" in text


def test_noi_nhan_is_kept_with_the_signature_block(app, final):
    meeting = final["october"]
    services.save_minutes(meeting, actor=final["organiser"], body="Dài dòng. " * 1200,
                          amendment_note="Bổ sung diễn biến")
    db.session.commit()
    reader, _ = read_pdf(services.render_pdf(meeting, final["organiser"]))
    pages = [flat(page.extract_text()) for page in reader.pages]
    assert len(pages) >= 3
    with_signatures = [n for n, p in enumerate(pages) if "CHỦ TRÌ" in p]
    with_recipients = [n for n, p in enumerate(pages) if "Nơi nhận" in p]
    assert with_signatures == with_recipients == [len(pages) - 1]


def test_unit_names_break_between_their_parts_never_inside(app, make_unit, make_user):
    assert minutes_pdf.name_parts("Cục Hải quan Thành phố Hồ Chí Minh") == ["Cục Hải quan", "Thành phố Hồ Chí Minh"]
    assert minutes_pdf.name_parts("Chi cục Hải quan Khu công nghệ cao") == ["Chi cục Hải quan", "Khu công nghệ cao"]
    assert minutes_pdf.name_parts("Tổng cục Hải quan") == ["Tổng cục Hải quan"]
    assert str(minutes_pdf.unbroken("Cục <Hải quan> X")).count("<span") <= 2
    assert "&lt;" in str(minutes_pdf.unbroken("Cục <b> X"))
    general = make_unit("TC", "general", name="Tổng cục Hải quan")
    department = make_unit("HCMX", "department", general, "Cục Hải quan Thành phố Hồ Chí Minh")
    branch = make_unit("KCNC", "branch", department, "Chi cục Hải quan cửa khẩu cảng Sài Gòn khu vực I")
    from dialogue_app.scheduling import services as scheduling

    meeting = scheduling.create_meeting(title="Đối thoại", unit=branch,
                                        start=datetime(2025, 10, 1, 8, tzinfo=office_zone()),
                                        duration_minutes=60, location="Hội trường", kind="dialogue")
    db.session.commit()
    reader, _ = read_pdf(services.render_pdf(meeting, make_user("organiser", branch)))
    lines = [flat(line) for line in reader.pages[0].extract_text().splitlines()]
    assert "THÀNH PHỐ HỒ CHÍ MINH" in " ".join(lines)
    assert not any(line.endswith(("HỒ", "HỒ CHÍ", "THÀNH", "THÀNH PHỐ")) for line in lines), lines
