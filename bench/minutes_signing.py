"""Benchmark: signing the minutes (issue 17 asks for the signing time beside the rendering time, as a ratio, with a
PKCS#12 file and with a SoftHSM2 token).

The same throw-away meeting as bench/minutes_pdf.py (60 attendees, 40 issues raised, 10 carried over, written
minutes), finalised. A CA made here (tests/pki.py) issues the office's certificate, with a CRL served on
127.0.0.1 that the signature embeds (PAdES B-LT). Measured, runs alternating, medians compared:

- rendering the official copy afresh (services.render_pdf: queries, template, WeasyPrint, PDF/A-3b);
- signing those bytes (signing.sign_pdf: open the key, check the certificate and fetch the CRL, draw the seal,
  hash, sign, embed the validation data) with the PKCS#12 file, and with the SoftHSM2 token (PKCS#11);
- the whole request `POST /api/v1/meetings/{id}/minutes/sign` with PKCS#12 (the copy already rendered and
  cached, as it is once someone has read the final minutes; each run signs on top of the previous signatures,
  so later runs carry more of them: the figure is an upper bound for the first signature).

Run: `.venv/bin/python bench/minutes_signing.py` (about a minute). Needs softhsm2 for the SoftHSM rows.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from minutes_pdf import PASSWORD, build
from result import emit, row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/pki.py: the test CA and token helpers

from dialogue_app import create_app  # noqa: E402
from dialogue_app.auth.models import User  # noqa: E402
from dialogue_app.extensions import db  # noqa: E402
from dialogue_app.minutes import services, signed, signing  # noqa: E402
from dialogue_app.scheduling.models import Meeting  # noqa: E402
from tests.minutes import pki  # noqa: E402

RUNS = 9
P12_PASSWORD = "benchmark p12"


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ca = pki.make_ca()
        server = pki.AuthorityServer(ca, pki.issue(ca, "Bench TSA", timestamping=True))
        office = pki.issue(ca, "Chi cục Hải quan Khu công nghệ cao", crl_url=server.url + "/ca.crl")
        (folder / "ca.pem").write_bytes(ca.pem())
        pki.write_pkcs12(folder / "office.p12", office, ca, P12_PASSWORD)
        p12 = signing.KeySettings(pkcs12_path=str(folder / "office.p12"), pkcs12_password=P12_PASSWORD,
                                  trust_roots=str(folder / "ca.pem"))
        hsm = None
        if pki.softhsm_available():
            pki.make_softhsm_token(folder / "softhsm", office, ca, label="bench", pin="4321", key_label="office")
            hsm = signing.KeySettings(pkcs11_module=pki.SOFTHSM_MODULE, pkcs11_token_label="bench",
                                      pkcs11_pin="4321", pkcs11_key_label="office", trust_roots=str(folder / "ca.pem"))
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "SECRET_KEY": "bench",
                          "INSTANCE_PATH": str(folder), "RATELIMIT_ENABLED": False,
                          "SIGNING_PKCS12_PATH": p12.pkcs12_path, "SIGNING_PKCS12_PASSWORD": P12_PASSWORD,
                          "SIGNING_TRUST_ROOTS": p12.trust_roots})
        meeting_id = build(app)
        with app.app_context():
            meeting = db.session.get(Meeting, meeting_id)
            officer = db.session.execute(db.select(User)).scalar_one()
            officer.role = "manager"  # the unit's manager signs (and reads the whole record)
            services.finalise_minutes(meeting, actor=officer)
            db.session.commit()

        renders, with_p12, with_hsm = [], [], []
        with app.app_context(), app.test_request_context():
            meeting = db.session.get(Meeting, meeting_id)
            minutes = services.get_minutes(meeting)
            reader = signed.official_reader(meeting)
            seal = signed._seal(meeting)
            unsigned = services.render_pdf(meeting, reader, minutes)  # warm-up: fonts, templates
            signing.sign_pdf(unsigned, p12, seal)
            if hsm:
                signing.sign_pdf(unsigned, hsm, seal)
            for _ in range(RUNS):
                renders.append(timed(lambda: services.render_pdf(meeting, reader, minutes)))
                with_p12.append(timed(lambda: signing.sign_pdf(unsigned, p12, seal)))
                if hsm:
                    with_hsm.append(timed(lambda: signing.sign_pdf(unsigned, hsm, seal)))
            signed_size = len(signing.sign_pdf(unsigned, p12, seal).data)

        client = app.test_client()
        token = client.post("/api/v1/tokens", json={"email": "officer@bench.vn", "password": PASSWORD}).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        client.get(f"/meetings/{meeting_id}/minutes.pdf", headers=headers)  # the final minutes read once: cached
        requests = []
        for _ in range(RUNS):
            start = time.perf_counter()
            response = client.post(f"/api/v1/meetings/{meeting_id}/minutes/sign", headers=headers)
            requests.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 201, response.json
        with app.app_context():
            db.engine.dispose()
        server.close()

    render = statistics.median(renders)
    p12_ms = statistics.median(with_p12)
    print(f"minutes of {len(unsigned) // 1024} KiB unsigned, {signed_size // 1024} KiB signed (one B-LT signature)")
    print(f"rendering (queries, template, WeasyPrint) median {render:7.1f} ms  (min {min(renders):.1f})")
    print(f"signing with PKCS#12                      median {p12_ms:7.1f} ms  ratio {p12_ms / render:.3f}")
    rows = [
        row("rendering the official copy, median", render, "ms", detail=f"min {min(renders):.1f} ms"),
        row("signing with PKCS#12 (B-LT, seal, CRL embedded), median", p12_ms, "ms",
            anchor=f"rendering: {render:.1f} ms", detail=f"ratio {p12_ms / render:.3f}; min {min(with_p12):.1f} ms"),
    ]
    extra = {"ratio_pkcs12": round(p12_ms / render, 3)}
    if with_hsm:
        hsm_ms = statistics.median(with_hsm)
        print(f"signing with SoftHSM2 (PKCS#11)           median {hsm_ms:7.1f} ms  ratio {hsm_ms / render:.3f}")
        rows.append(row("signing with SoftHSM2 through PKCS#11, median", hsm_ms, "ms",
                        anchor=f"rendering: {render:.1f} ms",
                        detail=f"ratio {hsm_ms / render:.3f}; min {min(with_hsm):.1f} ms"))
        extra["ratio_softhsm"] = round(hsm_ms / render, 3)
    else:
        print("SoftHSM2 is not installed (make signing-deps): no PKCS#11 figure")
    request_ms = statistics.median(requests)
    print(f"POST …/minutes/sign (PKCS#12, stored)     median {request_ms:7.1f} ms")
    rows.append(row("POST /api/v1/meetings/{id}/minutes/sign with PKCS#12, median", request_ms, "ms",
                    detail=f"min {min(requests):.1f} ms; each run signs on top of the previous ones"))
    emit("minutes_signing", True, "signing time beside rendering time (reported; the issue sets no target)", rows,
         **extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
