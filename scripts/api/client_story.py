"""A client generated from the API's document, used as an integrator would.

A discharge system generates a Python client from the document the server
serves (openapi-python-client), enrols Margaret Evans with it, Margaret
texts the service's number (a webhook signed as Twilio signs it), and the
client finds her concern and reads it, timeline and all, through the
generated models. The concern it leaves behind is one more thing for
schemathesis to read afterwards.

    python client_story.py BASE_URL API_KEY TWILIO_TOKEN WORKDIR
"""

import base64
import datetime
import hashlib
import hmac
import importlib
import subprocess
import sys
import time
import urllib.parse
import urllib.request


def generate(base, workdir):
    """Generate the client package into WORKDIR/nightingale_api_client."""
    subprocess.run(
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--url", f"{base}/api/v1/openapi.json",
            "--output-path", f"{workdir}/nightingale_api_client",
            "--meta", "none",
            "--overwrite",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path.insert(0, workdir)
    return importlib.import_module("nightingale_api_client")


def text_in(base, token, sender, body):
    """Post an inbound text to /twilio/sms, signed as Twilio signs it."""
    url = f"{base}/twilio/sms"
    params = {
        "MessageSid": "SMapicheck0000000000000000000001",
        "AccountSid": "ACapicheck",
        "From": sender,
        "To": "+447700900000",
        "Body": body,
        "NumMedia": "0",
    }
    signed = url + "".join(k + params[k] for k in sorted(params))
    signature = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest())
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature.decode()},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, response.status


def main(base, key, token, workdir):
    api = generate(base, workdir)
    from nightingale_api_client.api.concerns import get_concern, list_concerns
    from nightingale_api_client.api.enrolments import enrol
    from nightingale_api_client.models import ConcernView, EnrolmentRequest, Page, PersonRequest

    client = api.AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
    discharged = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    request = EnrolmentRequest(
        patient=PersonRequest(name="Margaret Evans", phone="07700 900801"),
        carers=[PersonRequest(name="Sian Evans", phone="07700 900802", relationship="daughter")],
        service="cardiology-ward-7",
        discharged_at=discharged.isoformat(),
        context="Ward 7; admitted with cellulitis of the left leg",
    )
    enrolled = enrol.sync_detailed(client=client, body=request)
    assert enrolled.status_code == 201, (enrolled.status_code, enrolled.content)
    enrolment = enrolled.parsed.id
    print(f"  enrolled with the generated client: enrolment {enrolment}")

    text_in(base, token, "+447700900801", "My leg is more swollen and red tonight")

    # The engine takes the text in on its own; the list shows it soon after.
    deadline = time.monotonic() + 30
    while True:
        page = list_concerns.sync(client=client, enrolment=enrolment)
        assert isinstance(page, Page), page
        if page.concerns:
            break
        assert time.monotonic() < deadline, "Margaret's concern never appeared in the list"
        time.sleep(0.2)
    found = page.concerns[0]
    concern = get_concern.sync(client=client, id=found.id)
    assert isinstance(concern, ConcernView), concern
    assert concern.text == "My leg is more swollen and red tonight", concern.text
    assert concern.enrolment == enrolment
    events = [item.to_dict()["event"] for item in concern.timeline]
    assert "received" in events, events
    print(f"  read concern {concern.id} ({concern.status}) with the generated client: {', '.join(events)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
