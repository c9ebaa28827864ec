"""The local ResponseURL receiver: presigned-looking HTTPS URLs, checks on the answer, redaction."""

import http.client
import json
import ssl
import urllib.parse

import pytest
from crhelper.utils import _send_response

from amplify_sandbox.driver.receiver import ResponseReceiver, redact

STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1"


@pytest.fixture
def receiver(tmp_path):
    with ResponseReceiver(tmp_path / "tls") as r:
        yield r


def _body(**overrides):
    body = {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": "pid",
        "StackId": STACK,
        "RequestId": "r1",
        "LogicalResourceId": "Site",
        "Data": {"JobId": "1"},
    }
    body.update(overrides)
    return json.dumps(body)


def _put(receiver, url, body):
    split = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=str(receiver.ca_file))
    conn = http.client.HTTPSConnection(split.netloc, context=ctx)
    conn.request("PUT", f"{split.path}?{split.query}", body=body, headers={"content-type": ""})
    return conn.getresponse().status


def test_url_looks_presigned_and_crhelper_can_answer_it(receiver):
    url = receiver.new_url(STACK, "Site", "r1")
    split = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(split.query)
    assert split.scheme == "https" and split.hostname == "127.0.0.1"
    assert split.path.startswith("/cloudformation-custom-resource-response-useast1/")
    assert {"X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Credential", "X-Amz-Signature"} <= set(
        query
    )
    _send_response(url, json.loads(_body()), ssl_verify=str(receiver.ca_file))  # crhelper's own sender
    response = receiver.response_for(url)
    assert response.status == "SUCCESS" and response.physical_resource_id == "pid"
    assert response.data == {"JobId": "1"} and response.error is None


def test_a_wrong_signature_is_refused(receiver):
    url = receiver.new_url(STACK, "Site", "r1")
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=00")
    assert _put(receiver, forged, _body()) == 403
    assert receiver.response_for(url) is None


def test_the_first_answer_wins(receiver):
    url = receiver.new_url(STACK, "Site", "r1")
    assert _put(receiver, url, _body(Status="FAILED", Reason="first")) == 200
    assert _put(receiver, url, _body()) == 200
    assert receiver.response_for(url).reason == "first"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (_body(Data={"big": "x" * 5000}), "Response object is too long"),
        ("not json", "Response is not valid JSON"),
        (_body(Status="DONE"), "invalid Status 'DONE'"),
        (_body(RequestId="other"), "RequestId 'other' does not match"),
        (_body(LogicalResourceId="Other"), "LogicalResourceId 'Other' does not match"),
    ],
)
def test_answers_cloudformation_would_refuse_fail_the_resource(receiver, body, error):
    url = receiver.new_url(STACK, "Site", "r1")
    _put(receiver, url, body)
    response = receiver.response_for(url)
    assert response.status == "FAILED" and error in response.error


def test_redact_removes_the_url_and_its_signature(receiver):
    url = receiver.new_url(STACK, "Site", "r1")
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    text = f"event {{'ResponseURL': '{url}'}} and sig {signature}"
    cleaned = redact(text, receiver.secrets_to_redact())
    assert url not in cleaned and signature not in cleaned and "<redacted>" in cleaned


def test_redact_also_removes_any_presigned_signature():
    text = "PUT https://bucket.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=abcdef0123 done"
    assert (
        redact(text, [])
        == "PUT https://bucket.s3.amazonaws.com/k?X-Amz-Expires=60&X-Amz-Signature=<redacted> done"
    )
