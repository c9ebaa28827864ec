"""Echo: answers a custom resource request with what it received (a driver test fixture)."""

import json
import os
import time

from crhelper import CfnResource

helper = CfnResource(log_level=os.environ.get("ECHO_LOG_LEVEL", "INFO"), sleep_on_delete=0)


def _answer(event, context):
    props = event["ResourceProperties"]
    if props.get("Fail") == "true":
        raise RuntimeError(f"told to fail with message {props.get('Message')}")
    helper.Data.update(
        {
            "Message": props.get("Message"),
            "RequestType": event["RequestType"],
            "OldMessage": (event.get("OldResourceProperties") or {}).get("Message", ""),
            "Types": json.dumps(sorted({type(v).__name__ for v in _scalars(props)})),
            "EchoVar": os.environ.get("ECHO_VAR", ""),
            "AnyServiceEndpoint": os.environ.get("AWS_ENDPOINT_URL", ""),
            "TmpIsPrivateAndEmpty": str(_private_tmp()),
            "FunctionName": context.function_name,
            "RemainingPositive": str(context.get_remaining_time_in_millis() > 0),
            "CanImportCfnLint": str(_importable("cfnlint")),
        }
    )
    print(f"echo: {event['RequestType']} {props.get('Message')}")
    return props.get("PhysicalId") or event.get("PhysicalResourceId") or f"echo-{event['LogicalResourceId']}"


def _scalars(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    else:
        yield value


def _private_tmp():
    import tempfile

    tmp = tempfile.gettempdir()
    return ".amplify-sandbox/lambda-tmp/" in tmp and os.listdir(tmp) == []


def _importable(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


@helper.create
def create(event, context):
    return _answer(event, context)


@helper.update
def update(event, context):
    return _answer(event, context)


@helper.delete
def delete(event, context):
    print(f"echo: Delete {event['PhysicalResourceId']}")


def handler(event, context):
    props = event["ResourceProperties"]
    if (
        props.get("RawSleep") and event["RequestType"] != "Delete"
    ):  # no crhelper: sleeps past the timeout without answering
        print("echo: sleeping without answering")
        time.sleep(float(props["RawSleep"]))
        return
    if props.get("Allocate") and event["RequestType"] != "Delete":  # grows past MemorySize
        hog = bytearray(int(props["Allocate"]) * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
        time.sleep(5)
        return
    helper(event, context)
