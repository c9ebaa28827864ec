"""AmplifyStaticSite's custom rules and custom domains: the synthesized template, and the synth-time
errors for what Amplify would refuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm

from amplify_deployment import AmplifyStaticSite, CustomRule, SiteDomain
from amplify_deployment.static_site import SPA_REWRITE_SOURCE

REPO = Path(__file__).resolve().parents[2]
ENV = cdk.Environment(account="123456789012", region="eu-west-1")
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f6e1c1e-1111-2222-3333-444455556666"


@pytest.fixture
def site_dir(tmp_path):
    (tmp_path / "index.html").write_text("<h1>site</h1>")
    return str(tmp_path)


def template_of(build) -> dict:
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    build(stack)
    return app.synth().get_stack_by_name("S").template


def one(template: dict, type_: str) -> tuple[str, dict]:
    (found,) = [(k, r) for k, r in template["Resources"].items() if r["Type"] == type_]
    return found


def branch_ids(template: dict) -> dict[str, str]:
    return {
        r["Properties"]["BranchName"]: k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Amplify::Branch"
    }


# ---------------------------------------------------------------------- custom rules
def test_custom_rules_apply_in_order_before_the_single_page_rewrite(site_dir):
    def build(stack):
        site = AmplifyStaticSite(
            stack,
            "Site",
            path=site_dir,
            single_page_app=True,
            custom_rules=[
                CustomRule("/old/<*>", "/new/<*>"),
                {"source": "/gone", "target": "/404.html", "status": "404"},
            ],
        )
        site.add_custom_rule("https://example.com", "https://www.example.com")
        site.add_custom_rule("/us", "/en-us", status="302", condition="<US>")

    _, app = one(template_of(build), "AWS::Amplify::App")
    rules = app["Properties"]["CustomRules"]
    assert rules == [
        {"Source": "/old/<*>", "Target": "/new/<*>", "Status": "301"},
        {"Source": "/gone", "Target": "/404.html", "Status": "404"},
        {"Source": "https://example.com", "Target": "https://www.example.com", "Status": "301"},
        {"Source": "/us", "Target": "/en-us", "Status": "302", "Condition": "<US>"},
        {"Source": SPA_REWRITE_SOURCE, "Target": "/index.html", "Status": "200"},
    ]


def test_no_rules_no_custom_rules_property(site_dir):
    _, app = one(template_of(lambda s: AmplifyStaticSite(s, "Site", path=site_dir)), "AWS::Amplify::App")
    assert "CustomRules" not in app["Properties"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (CustomRule("/a", "/b", "303"), "status must be one of 200, 301, 302, 404, 404-200, got '303'"),
        (CustomRule("/a", "/b", "200 "), "status must be one of"),
        (CustomRule("docs", "/b"), "a source is a path starting with '/'"),
        (CustomRule("/a/<*>/b", "/b"), "'<*>' may appear once, at the end of the path"),
        (CustomRule("/a/<*>/<*>", "/b"), "'<*>' may appear once"),
        (CustomRule("</(unclosed/>", "/b", "200"), "its regular expression does not compile"),
        (CustomRule("https://example.com/docs", "/b"), "a domain source is a domain alone"),
        (CustomRule("https://exa_mple.com", "/b"), "is not a domain name"),
        (CustomRule(SPA_REWRITE_SOURCE + " ", "/index.html", "200"), "has a space at an end"),
        (CustomRule("", "/b"), "source must be 1-2048 characters"),
        (CustomRule("/a", "x" * 2049), "target must be 1-2048 characters"),
        (CustomRule("/a", "/b", condition="US"), "condition must be a country code written like '<US>'"),
    ],
)
def test_a_rule_amplify_would_refuse_fails_at_synth(site_dir, rule, message):
    def build(stack):
        AmplifyStaticSite(stack, "Site", path=site_dir, custom_rules=[CustomRule("/ok", "/fine"), rule])

    with pytest.raises(ValueError, match="custom rule 1: ") as info:
        template_of(build)
    assert message in str(info.value)


def test_add_custom_rule_errors(site_dir):
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    site = AmplifyStaticSite(stack, "Site", path=site_dir)
    with pytest.raises(TypeError, match="give a target"):
        site.add_custom_rule("/a")
    with pytest.raises(ValueError, match="'source', 'target'"):
        site.add_custom_rule({"source": "/a", "to": "/b"})
    assert site.custom_rules == []


def test_token_rules_are_not_checked(site_dir):
    def build(stack):
        target = cdk.CfnParameter(stack, "Target").value_as_string
        AmplifyStaticSite(stack, "Site", path=site_dir, custom_rules=[CustomRule("/go", target, "302")])

    _, app = one(template_of(build), "AWS::Amplify::App")
    assert app["Properties"]["CustomRules"] == [
        {"Source": "/go", "Target": {"Ref": "Target"}, "Status": "302"}
    ]


# ---------------------------------------------------------------------- domains
def test_domain_maps_hosts_to_branches_by_name_with_outputs(site_dir):
    def build(stack):
        site = AmplifyStaticSite(
            stack,
            "Site",
            path=site_dir,
            domain=SiteDomain("Example.com", {"": "main", "www": "main", "next": "next"}),
        )
        site.add_branch("next")  # after the domain: the mapping names it before it exists
        assert site.domain_urls == {
            "example.com": "https://example.com",
            "www.example.com": "https://www.example.com",
            "next.example.com": "https://next.example.com",
        }

    template = template_of(build)
    ids = branch_ids(template)
    _, domain = one(template, "AWS::Amplify::Domain")
    props = domain["Properties"]
    assert props["DomainName"] == "example.com"
    assert props["AppId"] == {"Fn::GetAtt": [one(template, "AWS::Amplify::App")[0], "AppId"]}
    assert props["SubDomainSettings"] == [
        {"Prefix": "", "BranchName": {"Fn::GetAtt": [ids["main"], "BranchName"]}},
        {"Prefix": "www", "BranchName": {"Fn::GetAtt": [ids["main"], "BranchName"]}},
        {"Prefix": "next", "BranchName": {"Fn::GetAtt": [ids["next"], "BranchName"]}},
    ]
    assert "CertificateSettings" not in props  # Amplify's managed certificate
    assert "EnableAutoSubDomain" not in props
    outputs = template["Outputs"]
    urls = sorted(o["Value"] for o in outputs.values() if isinstance(o["Value"], str))
    assert urls == ["https://example.com", "https://next.example.com", "https://www.example.com"]
    attrs = sorted(o["Value"]["Fn::GetAtt"][1] for o in outputs.values() if "Fn::GetAtt" in o["Value"])
    assert attrs == ["AppId", "CertificateRecord", "DefaultDomain", "DomainStatus"]


def test_a_domain_name_alone_maps_the_apex_and_www_to_the_first_branch(site_dir):
    template = template_of(lambda s: AmplifyStaticSite(s, "Site", path=site_dir, domain="example.org"))
    (main,) = branch_ids(template).values()
    _, domain = one(template, "AWS::Amplify::Domain")
    assert domain["Properties"]["SubDomainSettings"] == [
        {"Prefix": "", "BranchName": {"Fn::GetAtt": [main, "BranchName"]}},
        {"Prefix": "www", "BranchName": {"Fn::GetAtt": [main, "BranchName"]}},
    ]


def test_custom_certificate_as_arn_or_icertificate_and_auto_sub_domains(site_dir):
    def build(stack):
        site = AmplifyStaticSite(stack, "Site", path=site_dir)
        site.add_domain(
            "example.com", certificate=CERT, auto_sub_domain=True, auto_sub_domain_patterns=["feature*"]
        )
        certs = cdk.Stack(
            stack.node.root, "Certs", env=cdk.Environment(account="123456789012", region="us-east-1")
        )
        cert = acm.Certificate.from_certificate_arn(certs, "Cert", CERT.replace("0f6e", "1f6e"))
        site.add_domain("example.net", certificate=cert)

    template = template_of(build)
    domains = {
        r["Properties"]["DomainName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Amplify::Domain"
    }
    assert domains["example.com"]["CertificateSettings"] == {
        "CertificateType": "CUSTOM",
        "CustomCertificateArn": CERT,
    }
    assert domains["example.com"]["EnableAutoSubDomain"] is True
    assert domains["example.com"]["AutoSubDomainCreationPatterns"] == ["feature*"]
    assert domains["example.net"]["CertificateSettings"]["CustomCertificateArn"] == CERT.replace(
        "0f6e", "1f6e"
    )


@pytest.mark.parametrize(
    ("add", "message"),
    [
        (
            lambda s: s.add_domain("example"),
            "invalid domain 'example': a domain name is dot-separated labels",
        ),
        (lambda s: s.add_domain("-bad.example.com"), "invalid domain"),
        (lambda s: s.add_domain("a" * 61 + ".com"), "at most 64 characters"),
        (
            lambda s: s.add_domain("example.com", sub_domains={"www": "main", "WWW": "main"}),
            "www.example.com is mapped twice",
        ),
        (lambda s: s.add_domain("example.com", sub_domains={"w w": "main"}), "prefix 'w w': a prefix is ''"),
        (lambda s: s.add_domain("example.com", sub_domains={}), "non-empty {prefix: branch} mapping"),
        (lambda s: s.add_domain("example.com", sub_domains={"": ""}), "give a branch name"),
        (
            lambda s: s.add_domain("example.com", certificate="arn:aws:iam::123456789012:role/x"),
            "is not an ACM certificate ARN",
        ),
        (
            lambda s: s.add_domain("example.com", certificate=CERT.replace("us-east-1", "eu-west-1")),
            "is in eu-west-1",
        ),
        (lambda s: s.add_domain("example.com", auto_sub_domain_patterns=["*"]), "needs auto_sub_domain=True"),
    ],
)
def test_domain_errors_at_synth(site_dir, add, message):
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    site = AmplifyStaticSite(stack, "Site", path=site_dir)
    with pytest.raises(ValueError) as info:
        add(site)
    assert message in str(info.value)


def test_a_host_mapped_by_two_domains_and_a_domain_added_twice_fail(site_dir):
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    site = AmplifyStaticSite(stack, "Site", path=site_dir)
    site.add_domain("example.com", sub_domains={"next": "main"})
    with pytest.raises(ValueError, match="next.example.com is mapped twice"):
        site.add_domain("next.example.com", sub_domains={"": "main"})
    with pytest.raises(ValueError, match="'example.com' was already added"):
        site.add_domain("EXAMPLE.com.", sub_domains={"www": "main"})


def test_a_certificate_of_another_region_fails(site_dir):
    app = cdk.App()
    stack = cdk.Stack(app, "S", env=ENV)
    site = AmplifyStaticSite(stack, "Site", path=site_dir)
    cert = acm.Certificate(stack, "Cert", domain_name="example.com")  # in the stack's eu-west-1
    with pytest.raises(ValueError, match="the custom certificate is in eu-west-1; Amplify Hosting takes"):
        site.add_domain("example.com", certificate=cert)


def test_an_unknown_branch_fails_synth_naming_it(site_dir):
    def build(stack):
        site = AmplifyStaticSite(stack, "Site", path=site_dir)
        site.add_domain("example.com", sub_domains={"": "main", "next": "nxt"})

    with pytest.raises(
        Exception, match=r"next.example.com maps to branch 'nxt', which is not a branch of this site"
    ):
        template_of(build)


def test_no_branch_yet_needs_sub_domains(site_dir):
    stack = cdk.Stack(cdk.App(), "S", env=ENV)
    site = AmplifyStaticSite(stack, "Site", path=site_dir, branches=[])
    with pytest.raises(ValueError, match="give sub_domains"):
        site.add_domain("example.com")


def cdk_synth(app_dir: Path, out: Path, *context: str) -> dict:
    """`npx cdk synth -c ...` in an example's folder, as its docstring tells users to deploy it."""
    cdk_cli = REPO / "node_modules" / ".bin" / "cdk"
    if not cdk_cli.exists():
        pytest.fail("the CDK CLI is not installed: run `npm ci` (scripts/test does)")
    env = dict(os.environ, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    argv = [str(cdk_cli), "synth", "--no-notices", "--quiet", "--output", str(out)]
    for value in context:
        argv += ["-c", value]
    result = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "CustomDomain.template.json").read_text())


def test_removing_the_next_sub_domain_changes_only_that_mapping_and_its_output(tmp_path):
    """examples/custom_domain's docstring: ``-c next_domain=false`` removes next.example.com only."""
    app_dir = REPO / "examples" / "custom_domain"
    before = cdk_synth(app_dir, tmp_path / "before")
    after = cdk_synth(app_dir, tmp_path / "after", "next_domain=false")
    assert set(before["Resources"]) == set(after["Resources"])
    changed = [k for k in before["Resources"] if before["Resources"][k] != after["Resources"][k]]
    (domain_id,) = changed
    old, new = before["Resources"][domain_id], after["Resources"][domain_id]
    assert old["Type"] == "AWS::Amplify::Domain"
    assert {k: v for k, v in old["Properties"].items() if k != "SubDomainSettings"} == {
        k: v for k, v in new["Properties"].items() if k != "SubDomainSettings"
    }
    assert [s["Prefix"] for s in old["Properties"]["SubDomainSettings"]] == ["", "www", "next"]
    assert new["Properties"]["SubDomainSettings"] == old["Properties"]["SubDomainSettings"][:2]
    gone = set(before["Outputs"]) - set(after["Outputs"])
    assert [before["Outputs"][k]["Value"] for k in gone] == ["https://next.example.com"]
    assert set(after["Outputs"]) < set(before["Outputs"])
