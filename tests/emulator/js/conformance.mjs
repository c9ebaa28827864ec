// The emulator seen by a client we did not write: the AWS SDK for JavaScript v3 (@aws-sdk/client-amplify,
// pinned in package.json). Run by tests/emulator/test_js_sdk.py with one JSON argument:
//   {"endpoint", "region", "otherRegion", "zip": <path of a site zip>, "files": {name: base64},
//    "sourceUrl": <a presigned GET of a zip>}
// It drives a ZIP deployment, a FILES deployment, a sourceUrl start, ListJobs paged with nextToken, the
// list and tag operations and each error of the model (those its rules never give through the knob
// refuse_next_api_calls), checks the typed values the SDK returns
// (dates are Dates, enums hold the model's values, errors are the SDK's exception classes) and prints
// one JSON report on stdout. Any failed check throws: the process exits 1 with the check's message.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import {
  AmplifyClient,
  BadRequestException,
  CreateAppCommand,
  CreateBranchCommand,
  CreateDeploymentCommand,
  DependentServiceFailureException,
  GetAppCommand,
  GetBranchCommand,
  GetJobCommand,
  InternalFailureException,
  JobStatus,
  JobType,
  LimitExceededException,
  ListJobsCommand,
  ListTagsForResourceCommand,
  ListWebhooksCommand,
  NotFoundException,
  Platform,
  ResourceNotFoundException,
  SourceUrlType,
  Stage,
  StartDeploymentCommand,
  StopJobCommand,
  TagResourceCommand,
  UnauthorizedException,
  UntagResourceCommand,
  paginateListApps,
  paginateListBranches,
  paginateListJobs,
} from "@aws-sdk/client-amplify";

const cfg = JSON.parse(process.argv[2]);
const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
// one attempt per call: an error is the emulator's answer, not the SDK's retry of it
const client = new AmplifyClient({ region: cfg.region, endpoint: cfg.endpoint, credentials, maxAttempts: 1 });
const other = new AmplifyClient({ region: cfg.otherRegion, endpoint: cfg.endpoint, credentials, maxAttempts: 1 });
const checks = [];

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  checks.push(what);
}
const isDate = (v) => v instanceof Date && !Number.isNaN(v.getTime());
const inEnum = (v, e) => Object.values(e).includes(v);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function checkSummary(s, where) {
  for (const f of ["commitTime", "startTime"]) check(isDate(s[f]), `${where}: summary.${f} is a Date`);
  if (s.endTime !== undefined) check(isDate(s.endTime), `${where}: summary.endTime is a Date`);
  check(inEnum(s.status, JobStatus), `${where}: status ${s.status} is a JobStatus`);
  check(inEnum(s.jobType, JobType), `${where}: jobType ${s.jobType} is a JobType`);
  check(typeof s.jobId === "string" && typeof s.jobArn === "string", `${where}: jobId and jobArn are strings`);
  if (s.sourceUrlType !== undefined) check(inEnum(s.sourceUrlType, SourceUrlType), `${where}: sourceUrlType`);
}

async function untilDone(appId, branchName, jobId) {
  for (let i = 0; i < 600; i++) {
    const { job } = await client.send(new GetJobCommand({ appId, branchName, jobId }));
    checkSummary(job.summary, `GetJob ${branchName}/${jobId}`);
    for (const step of job.steps) {
      check(isDate(step.startTime) && isDate(step.endTime), `GetJob ${jobId}: step times are Dates`);
      check(inEnum(step.status, JobStatus), `GetJob ${jobId}: step status is a JobStatus`);
    }
    if (["SUCCEED", "FAILED", "CANCELLED"].includes(job.summary.status)) return job;
    await sleep(50);
  }
  throw new Error(`job ${jobId} did not finish`);
}

async function put(url, body, headers = {}) {
  const resp = await fetch(url, { method: "PUT", body, headers });
  check(resp.status === 200, `PUT to an upload URL answers 200 (got ${resp.status} ${await resp.text()})`);
}

async function knobs(values) {
  const resp = await fetch(`${cfg.endpoint}/_sandbox/knobs`, { method: "POST", body: JSON.stringify(values) });
  check(resp.status === 200, `knobs ${JSON.stringify(values)} set`);
}

async function expectError(cls, call, what) {
  try {
    await call();
  } catch (err) {
    check(err instanceof cls, `${what}: ${err.name} is the SDK's ${cls.name}`);
    check(err.name === cls.name, `${what}: name ${err.name}`);
    check(typeof err.message === "string" && err.message.length > 0, `${what}: has a message`);
    check(typeof err.$metadata.requestId === "string" && err.$metadata.requestId.length > 0, `${what}: request id`);
    return { name: err.name, status: err.$metadata.httpStatusCode, message: err.message, code: err.code };
  }
  throw new Error(`${what}: no error`);
}

// ------------------------------------------------------------------ app and branches
const { app } = await client.send(
  new CreateAppCommand({ name: "js-sdk", platform: "WEB", tags: { suite: "js" } })
);
check(isDate(app.createTime) && isDate(app.updateTime), "CreateApp: createTime and updateTime are Dates");
check(inEnum(app.platform, Platform), "CreateApp: platform is a Platform");
check(app.appArn.startsWith(`arn:aws:amplify:${cfg.region}:`), "CreateApp: the ARN names the client's Region");
const appId = app.appId;
const main = (await client.send(new CreateBranchCommand({ appId, branchName: "main", stage: "PRODUCTION" })))
  .branch;
check(inEnum(main.stage, Stage) && isDate(main.createTime), "CreateBranch: stage is a Stage, times are Dates");
const feature = (await client.send(new CreateBranchCommand({ appId, branchName: "feature/x" }))).branch;
// a branch created without a stage shows NONE: outside the model's enum, as AWS answers (ledger A6)
check(feature.stage === "NONE", "CreateBranch without a stage: NONE");

// ------------------------------------------------------------------ a ZIP deployment
const zip = readFileSync(cfg.zip);
const zipDep = await client.send(new CreateDeploymentCommand({ appId, branchName: "main" }));
check(typeof zipDep.jobId === "string" && zipDep.zipUploadUrl.startsWith("http"), "CreateDeployment: zipUploadUrl");
await put(zipDep.zipUploadUrl, zip);
const started = await client.send(new StartDeploymentCommand({ appId, branchName: "main", jobId: zipDep.jobId }));
checkSummary(started.jobSummary, "StartDeployment(jobId)");
const zipJob = await untilDone(appId, "main", zipDep.jobId);
check(zipJob.summary.status === "SUCCEED" && zipJob.steps.length === 1, "ZIP deployment: SUCCEED with one step");

// ------------------------------------------------------------------ a FILES deployment
const files = Object.fromEntries(Object.entries(cfg.files).map(([k, v]) => [k, Buffer.from(v, "base64")]));
const fileMap = Object.fromEntries(
  Object.entries(files).map(([k, v]) => [k, createHash("md5").update(v).digest("hex")])
);
const filesDep = await client.send(new CreateDeploymentCommand({ appId, branchName: "feature/x", fileMap }));
check(
  JSON.stringify(Object.keys(filesDep.fileUploadUrls).sort()) === JSON.stringify(Object.keys(files).sort()),
  "CreateDeployment(fileMap): one upload URL per file"
);
for (const [name, url] of Object.entries(filesDep.fileUploadUrls)) {
  const md5 = createHash("md5").update(files[name]).digest("base64");
  await put(url, files[name], { "Content-MD5": md5 });
}
await client.send(new StartDeploymentCommand({ appId, branchName: "feature/x", jobId: filesDep.jobId }));
const filesJob = await untilDone(appId, "feature/x", filesDep.jobId);
check(filesJob.summary.status === "SUCCEED", "FILES deployment: SUCCEED");

// ------------------------------------------------------------------ a sourceUrl start
const pulled = await client.send(
  new StartDeploymentCommand({ appId, branchName: "main", sourceUrl: cfg.sourceUrl, sourceUrlType: "ZIP" })
);
checkSummary(pulled.jobSummary, "StartDeployment(sourceUrl)");
check(pulled.jobSummary.status === "PROVISIONING", "StartDeployment(sourceUrl) answers at once: PROVISIONING");
check(pulled.jobSummary.sourceUrl === cfg.sourceUrl, "StartDeployment(sourceUrl): the summary shows the sourceUrl");
const pulledJob = await untilDone(appId, "main", pulled.jobSummary.jobId);
check(pulledJob.summary.status === "SUCCEED", "sourceUrl deployment: SUCCEED");

// ------------------------------------------------------------------ ListJobs paged with nextToken
const first = await client.send(new ListJobsCommand({ appId, branchName: "main", maxResults: 1 }));
check(first.jobSummaries.length === 1 && typeof first.nextToken === "string", "ListJobs maxResults 1: a nextToken");
const second = await client.send(
  new ListJobsCommand({ appId, branchName: "main", maxResults: 1, nextToken: first.nextToken })
);
check(second.jobSummaries.length === 1 && second.nextToken === undefined, "ListJobs with nextToken: the last page");
const paged = [];
for await (const page of paginateListJobs({ client, pageSize: 1 }, { appId, branchName: "main" })) {
  paged.push(page.jobSummaries.map((j) => j.jobId));
  page.jobSummaries.forEach((j) => checkSummary(j, "ListJobs"));
}
check(JSON.stringify(paged) === JSON.stringify([[pulled.jobSummary.jobId], [zipDep.jobId]]), "paginateListJobs");

// ------------------------------------------------------------------ the other list and tag operations
const apps = [];
for await (const page of paginateListApps({ client, pageSize: 1 }, {})) apps.push(...page.apps.map((a) => a.appId));
check(JSON.stringify(apps) === JSON.stringify([appId]), "paginateListApps: the app of this Region");
const branches = [];
for await (const page of paginateListBranches({ client, pageSize: 1 }, { appId })) {
  branches.push(...page.branches.map((b) => b.branchName));
}
check(JSON.stringify(branches) === JSON.stringify(["main", "feature/x"]), "paginateListBranches: both branches");
const active = (await client.send(new GetBranchCommand({ appId, branchName: "main" }))).branch.activeJobId;
check(active === pulled.jobSummary.jobId, "GetBranch: activeJobId is the sourceUrl job");
await client.send(new TagResourceCommand({ resourceArn: main.branchArn, tags: { team: "web" } }));
await client.send(new UntagResourceCommand({ resourceArn: app.appArn, tagKeys: ["suite"] }));
const appTags = (await client.send(new ListTagsForResourceCommand({ resourceArn: app.appArn }))).tags;
const branchTags = (await client.send(new ListTagsForResourceCommand({ resourceArn: main.branchArn }))).tags;
check(JSON.stringify(appTags) === "{}" && branchTags.team === "web", "Tag/Untag/ListTagsForResource");

// ------------------------------------------------------------------ each error the emulator answers
const errors = {};
errors.NotFoundException = await expectError(
  NotFoundException,
  () => client.send(new GetAppCommand({ appId: "dmissing" })),
  "GetApp of an unknown app"
);
errors.NotFoundExceptionOtherRegion = await expectError(
  NotFoundException,
  () => other.send(new GetAppCommand({ appId })),
  "GetApp from another Region"
);
const blocker = await client.send(new CreateDeploymentCommand({ appId, branchName: "main" }));
errors.BadRequestException = await expectError(
  BadRequestException,
  () => client.send(new CreateDeploymentCommand({ appId, branchName: "main" })),
  "CreateDeployment while the last job is unfinished"
);
const stopped = await client.send(new StopJobCommand({ appId, branchName: "main", jobId: blocker.jobId }));
checkSummary(stopped.jobSummary, "StopJob");
check(
  stopped.jobSummary.status === "CANCELLED" &&
    stopped.jobSummary.startTime.getTime() === stopped.jobSummary.commitTime.getTime(),
  "StopJob of a never-started job: CANCELLED, startTime still its creation time"
);
const { job: stoppedJob } = await client.send(new GetJobCommand({ appId, branchName: "main", jobId: blocker.jobId }));
check(stoppedJob.steps.length === 0, "StopJob of a never-started job: no steps");
errors.BadRequestExceptionNotEmulated = await expectError(
  BadRequestException,
  () => client.send(new ListWebhooksCommand({ appId })),
  "ListWebhooks (not emulated)"
);
await knobs({ throttle_next_api_calls: 1, throttle_code: "LimitExceededException" });
errors.LimitExceededException = await expectError(
  LimitExceededException,
  () => client.send(new GetAppCommand({ appId })),
  "a call over a quota"
);
await knobs({ lose_next_get_job: 1 });
errors.InternalFailureException = await expectError(
  InternalFailureException,
  () => client.send(new GetJobCommand({ appId, branchName: "main", jobId: zipDep.jobId })),
  "GetJob whose answer is lost"
);
await knobs({ refuse_next_api_calls: 1, refuse_code: "UnauthorizedException" });
errors.UnauthorizedException = await expectError(
  UnauthorizedException,
  () => client.send(new GetAppCommand({ appId })),
  "a call refused as unauthorized"
);
await knobs({ refuse_next_api_calls: 1, refuse_code: "DependentServiceFailureException" });
errors.DependentServiceFailureException = await expectError(
  DependentServiceFailureException,
  () => client.send(new CreateAppCommand({ name: "refused" })),
  "a call refused for a dependent service"
);
errors.ResourceNotFoundException = await expectError(
  ResourceNotFoundException,
  () => client.send(new ListTagsForResourceCommand({ resourceArn: app.appArn.replace(appId, "dmissing") })),
  "ListTagsForResource of an unknown app"
);
check(errors.ResourceNotFoundException.code === "ResourceNotFoundException", "ResourceNotFoundException: code");

process.stdout.write(
  JSON.stringify({
    appId,
    jobs: { zip: zipDep.jobId, files: filesDep.jobId, sourceUrl: pulled.jobSummary.jobId },
    errors,
    checks: checks.length,
  }) + "\n"
);
