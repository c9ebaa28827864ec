"""AmplifyStaticSite's branches: construct ids from names (stable when branches come and go), the
first branch's ids kept from earlier versions, per-branch content and stage with add_branch."""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyStaticSite, UploadMode, branch_construct_id


@pytest.fixture
def site_dir(tmp_path):
    (tmp_path / "index.html").write_text("<h1>site</h1>")
    return str(tmp_path)


def synth(build) -> tuple[cdk.Stack, dict]:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    build(stack)
    return stack, assertions.Template.from_stack(stack).to_json()


def by_branch(stack: cdk.Stack, site: AmplifyStaticSite) -> dict[str, dict[str, str]]:
    """Branch name -> logical ids of its branch, its deployment and its URL output."""
    ids = {}
    for name, branch in site.branches.items():
        deployment = site.deployments[name].resource.node.default_child
        outputs = [
            c
            for c in site.node.children
            if isinstance(c, cdk.CfnOutput) and c.description == f"URL of branch {name}"
        ]
        ids[name] = {
            "branch": stack.get_logical_id(branch),
            "deployment": stack.get_logical_id(deployment),
            "output": stack.get_logical_id(outputs[0]),
        }
    return ids


def site_with(site_dir, names):
    holder = {}

    def build(stack):
        holder["site"] = AmplifyStaticSite(stack, "Site", path=site_dir, branches=names)

    stack, template = synth(build)
    return stack, template, by_branch(stack, holder["site"]), holder["site"]


def resources_of(stack: cdk.Stack, site: AmplifyStaticSite, name: str) -> set[str]:
    """Logical ids of every resource a branch brings: its CfnBranch and all of its deployment's."""
    found = {stack.get_logical_id(site.branches[name])}
    for construct in site.deployments[name].node.find_all():
        if isinstance(construct, cdk.CfnResource):
            found.add(stack.get_logical_id(construct))
    return found


def test_removing_a_branch_leaves_the_others_untouched(site_dir):
    stack, before, ids_before, site = site_with(site_dir, ["main", "a", "b"])
    _, after, ids_after, _ = site_with(site_dir, ["main", "b"])
    for name in ("main", "b"):
        assert ids_after[name] == ids_before[name], name
        for kind in ("branch", "deployment"):
            logical = ids_after[name][kind]
            assert after["Resources"][logical] == before["Resources"][logical], (name, kind)
        output = ids_after[name]["output"]
        assert after["Outputs"][output] == before["Outputs"][output]
    # Exactly a's resources are gone; every other resource is unchanged.
    a_resources = resources_of(stack, site, "a")
    assert set(before["Resources"]) - set(after["Resources"]) == a_resources
    for logical in after["Resources"]:
        assert after["Resources"][logical] == before["Resources"][logical], logical
    assert set(before["Outputs"]) - set(after["Outputs"]) == {ids_before["a"]["output"]}


def test_adding_a_branch_leaves_the_others_untouched(site_dir):
    _, before, ids_before, _ = site_with(site_dir, ["main", "feature/x"])
    _, after, ids_after, _ = site_with(site_dir, ["main", "early", "feature/x", "z"])
    for name in ("main", "feature/x"):
        assert ids_after[name] == ids_before[name]
        for kind in ("branch", "deployment"):
            assert after["Resources"][ids_after[name][kind]] == before["Resources"][ids_before[name][kind]]


# The logical ids the previous version of AmplifyStaticSite(stack, "Site", branches=["main", "dev"])
# gave to the app and its first branch (its later branches were Branch1, Deployment1, BranchUrl1...).
EARLIER_RESOURCES = {
    "SiteAppA555C636",
    "SiteBranch93195AE4",
    "SiteDeploymentF301790F",
    "SiteDeploymentAmplifyPolicy63DE030E",
    "SiteDeploymentSourcesReadPolicy577B6D53",
}
EARLIER_OUTPUTS = {"SiteAppIdD71A1354", "SiteDefaultDomain51055994", "SiteBranchUrl1E9296FF"}


def test_the_first_branch_keeps_the_ids_of_earlier_versions(site_dir):
    # An upgrade must not replace an existing stack's app or first branch.
    _, template, ids, _ = site_with(site_dir, ["main", "dev"])
    assert EARLIER_RESOURCES <= set(template["Resources"])
    assert EARLIER_OUTPUTS <= set(template["Outputs"])
    assert ids["main"] == {
        "branch": "SiteBranch93195AE4",
        "deployment": "SiteDeploymentF301790F",
        "output": "SiteBranchUrl1E9296FF",
    }
    assert ids["dev"]["branch"].startswith("SiteBranchDev")
    assert ids["dev"]["deployment"].startswith("SiteDeploymentDev")
    assert ids["dev"]["output"].startswith("SiteBranchUrlDev")


def test_add_branch_gives_the_same_ids_as_the_branches_list(site_dir):
    _, _, listed, _ = site_with(site_dir, ["main", "dev"])
    holder = {}

    def build(stack):
        site = AmplifyStaticSite(stack, "Site", path=site_dir)
        site.add_branch("dev")
        holder["site"] = site

    stack, _ = synth(build)
    assert by_branch(stack, holder["site"]) == listed


def test_names_that_sanitise_alike_get_distinct_stable_ids(site_dir):
    _, template, ids, _ = site_with(site_dir, ["main", "feature/login", "feature-login", "featureLogin"])
    assert len({i["branch"] for i in ids.values()}) == 4
    # The disambiguator comes from the name alone: feature/login has the same ids without the others.
    _, _, alone, _ = site_with(site_dir, ["main", "feature/login"])
    assert alone["feature/login"] == ids["feature/login"]
    names = {
        r["Properties"]["BranchName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Amplify::Branch"
    }
    assert names == {"main", "feature/login", "feature-login", "featureLogin"}


@pytest.mark.parametrize(
    "name,expected",
    [
        ("main", "Main"),
        ("dev2", "Dev2"),
        ("featureLogin", "FeatureLogin"),
        ("1x", "1x"),
        ("feature/login", "FeatureLogin-" + hashlib.sha256(b"feature/login").hexdigest()[:8]),
        ("feature-login", "FeatureLogin-" + hashlib.sha256(b"feature-login").hexdigest()[:8]),
        ("Main", "Main-" + hashlib.sha256(b"Main").hexdigest()[:8]),
        ("---", "-" + hashlib.sha256(b"---").hexdigest()[:8]),
    ],
)
def test_branch_construct_id(name, expected):
    assert branch_construct_id(name) == expected


def test_branch_construct_id_of_a_long_name_is_bounded():
    name = "release/" + "x" * 240
    assert len(branch_construct_id(name)) == 48 + 9
    assert branch_construct_id(name) != branch_construct_id(name[:-1])


def test_per_branch_content_stage_and_mode(site_dir, tmp_path):
    preview = tmp_path / "preview"
    preview.mkdir()
    (preview / "index.html").write_text("<h1>preview</h1>")
    holder = {}

    def build(stack):
        site = AmplifyStaticSite(stack, "Site", path=site_dir, exclude=["*.map"])
        returned = site.add_branch(
            "preview/x",
            sources=[s3deploy.Source.asset(str(preview))],
            stage="DEVELOPMENT",
            upload_mode=UploadMode.FILES,
            include=["keep.map"],
        )
        site.add_branch("beta", stage="beta")
        holder["site"], holder["returned"] = site, returned

    stack, template = synth(build)
    site = holder["site"]
    assert holder["returned"] is site.deployments["preview/x"]
    assert list(site.branches) == ["main", "preview/x", "beta"]
    assert list(site.branch_urls) == ["main", "preview/x", "beta"]
    resources = template["Resources"]
    branch = lambda n: resources[stack.get_logical_id(site.branches[n])]["Properties"]  # noqa: E731
    deployment = lambda n: resources[  # noqa: E731
        stack.get_logical_id(site.deployments[n].resource.node.default_child)
    ]["Properties"]
    assert "Stage" not in branch("main")
    assert branch("preview/x")["Stage"] == "DEVELOPMENT"
    assert branch("beta")["Stage"] == "BETA"
    # The preview deploys its own folder; main and beta the site's.
    assert deployment("preview/x")["Sources"] != deployment("main")["Sources"]
    assert deployment("beta")["Sources"] == deployment("main")["Sources"]
    assert (deployment("main")["UploadMode"], deployment("preview/x")["UploadMode"]) == ("ZIP", "FILES")
    # Filters default to the site's; a branch's own replace them.
    assert deployment("main")["Exclude"] == ["*.map"] and "Include" not in deployment("main")
    assert deployment("preview/x")["Exclude"] == ["*.map"] and deployment("preview/x")["Include"] == [
        "keep.map"
    ]
    descriptions = sorted(o["Description"] for o in template["Outputs"].values())
    assert descriptions == [
        "Amplify app id",
        "Amplify default domain",
        "URL of branch beta",
        "URL of branch main",
        "URL of branch preview/x",
    ]
    assert "https://preview-x." in json.dumps(stack.resolve(site.branch_urls["preview/x"]))


def test_branches_only_through_add_branch(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    (one / "index.html").write_text("1")
    holder = {}

    def build(stack):
        site = AmplifyStaticSite(stack, "Site", branches=[], outputs=False)
        site.add_branch("main", sources=[s3deploy.Source.asset(str(one))], stage="PRODUCTION")
        holder["site"] = site

    stack, template = synth(build)
    assert stack.get_logical_id(holder["site"].branches["main"]).startswith("SiteBranchMain")
    assert "Outputs" not in template or not template["Outputs"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda site, stack: site.add_branch("main"), "branch 'main' was already added"),
        (lambda site, stack: site.add_branch("has space"), "invalid branch name"),
        (lambda site, stack: site.add_branch(""), "invalid branch name"),
        (lambda site, stack: site.add_branch("x", stage="STAGING"), "stage must be one of PRODUCTION, BETA"),
        (
            lambda site, stack: site.add_branch(cdk.CfnParameter(stack, "B").value_as_string),
            "must be a literal string, not a token",
        ),
        (lambda site, stack: site.add_branch("x", exclude=["/abs"]), "starts with '/'"),
    ],
)
def test_add_branch_errors(site_dir, call, message):
    def build(stack):
        call(AmplifyStaticSite(stack, "Site", path=site_dir), stack)

    with pytest.raises(ValueError, match=message):
        synth(build)


def test_a_branch_without_content_fails(tmp_path):
    def build(stack):
        AmplifyStaticSite(stack, "Site", branches=[]).add_branch("main")

    with pytest.raises(ValueError, match="branch 'main' has no content: give it sources"):
        synth(build)


def test_branches_must_be_a_list(site_dir):
    with pytest.raises(TypeError, match="branches must be a list of names"):
        synth(lambda stack: AmplifyStaticSite(stack, "Site", path=site_dir, branches="main"))
