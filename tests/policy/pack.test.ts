// The pack entry point (policy/index.ts) started the way the Pulumi CLI starts it (Pulumi's own
// run-policy-pack launcher, which type-checks the pack with ts-node and prints its gRPC port), then
// driven with the analyzer protocol the engine speaks during `pulumi preview` (GetAnalyzerInfo,
// Configure, Analyze, AnalyzeStack) on resources from the offline plan. The CLI itself is not
// available here; this is the closest stand-in for its side of the wire.
import { strict as assert } from "node:assert";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import * as path from "node:path";
import type { Readable } from "node:stream";

import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeDiagnostic,
  AnalyzeRequest,
  AnalyzeResponse,
  AnalyzerInfo,
  AnalyzerProviderResource,
  AnalyzerResource,
  AnalyzerResourceOptions,
  AnalyzeStackRequest,
  ConfigureAnalyzerRequest,
  EnforcementLevel,
  PolicyConfig,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct, type JavaScriptValue } from "google-protobuf/google/protobuf/struct_pb";

import { runPlan } from "../../plan/run";
import type { PlanDocument, PlanResource } from "../../plan/types";
import { CAPACITY_POLICY, policies, TYPES } from "../../policy/policies";
import { stackPolicyConfig } from "../../policy/stack-policy-config";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");

type Pack = ChildProcessByStdio<null, Readable, Readable>;

/** The launcher the Pulumi CLI's Node.js language host runs a policy pack with (ts-node, type-checked). */
const RUN_POLICY_PACK = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [POLICY_DIR] });

/**
 * Starts the pack as the CLI does: `node run-policy-pack <engine address> .` in the pack's directory
 * (the pack reads its version from ./package.json; the engine address is unused by analyzers).
 * Returns the process at once, so the caller can stop it whatever happens next, and its port.
 */
function startPack(): { pack: Pack; port: Promise<number> } {
  const pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:0", "."], {
    cwd: POLICY_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  pack.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const port = new Promise<number>((resolve, reject) => {
    let stdout = "";
    pack.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const line = /^(\d+)\n/.exec(stdout);
      if (line) resolve(Number(line[1]));
    });
    pack.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
  });
  return { pack, port };
}

function call<Request, Response>(
  method: (
    request: Request,
    callback: (error: grpc.ServiceError | null, response: Response) => void,
  ) => unknown,
  request: Request,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    method(request, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

function struct(value: Record<string, unknown>): Struct {
  return Struct.fromJavaScript(value as Record<string, JavaScriptValue>);
}

function providerOf(plan: PlanDocument, resource: PlanResource): AnalyzerProviderResource | undefined {
  if (!resource.provider) return undefined;
  const urn = resource.provider.slice(0, resource.provider.lastIndexOf("::"));
  const provider = plan.resources.find((candidate) => candidate.urn === urn);
  assert.ok(provider);
  return new AnalyzerProviderResource()
    .setType(provider.type)
    .setName(provider.name)
    .setUrn(urn)
    .setProperties(struct(provider.inputs));
}

function analyzeRequest(plan: PlanDocument, resource: PlanResource): AnalyzeRequest {
  const request = new AnalyzeRequest()
    .setType(resource.type)
    .setName(resource.name)
    .setUrn(resource.urn)
    .setProperties(struct(resource.inputs))
    .setOptions(new AnalyzerResourceOptions().setProtect(resource.protect).setParent(resource.parent ?? ""));
  const provider = providerOf(plan, resource);
  return provider ? request.setProvider(provider) : request;
}

function stackRequest(plan: PlanDocument, resources: readonly PlanResource[]): AnalyzeStackRequest {
  return new AnalyzeStackRequest().setResourcesList(
    resources.map((resource) => {
      const analyzed = new AnalyzerResource()
        .setType(resource.type)
        .setName(resource.name)
        .setUrn(resource.urn)
        .setProperties(struct(resource.inputs))
        .setOptions(new AnalyzerResourceOptions().setProtect(resource.protect))
        .setParent(resource.parent ?? "")
        .setDependenciesList(resource.dependsOn);
      const provider = providerOf(plan, resource);
      return provider ? analyzed.setProvider(provider) : analyzed;
    }),
  );
}

function summary(
  diagnostics: readonly AnalyzeDiagnostic[],
): { policy: string; level: EnforcementLevel; urn: string }[] {
  return diagnostics.map((diagnostic) => ({
    policy: diagnostic.getPolicyname(),
    level: diagnostic.getEnforcementlevel(),
    urn: diagnostic.getUrn(),
  }));
}

describe("policy pack served over the analyzer protocol", function () {
  this.timeout(120_000);
  let pack: Pack | undefined;
  let client: AnalyzerClient;
  let plan: PlanDocument;

  before(async () => {
    const started = startPack();
    pack = started.pack;
    const [port, prod] = await Promise.all([started.port, runPlan({ stack: "prod" })]);
    plan = prod;
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const config = new ConfigureAnalyzerRequest();
    // Every configurable policy gets the prod stack's config, as CI passes it.
    for (const [name, properties] of Object.entries(stackPolicyConfig("prod"))) {
      config
        .getPolicyconfigMap()
        .set(
          name,
          new PolicyConfig()
            .setEnforcementlevel(EnforcementLevel.MANDATORY)
            .setProperties(struct({ ...properties })),
        );
    }
    await call<ConfigureAnalyzerRequest, Empty>((request, done) => client.configure(request, done), config);
  });

  const analyze = (request: AnalyzeRequest) =>
    call<AnalyzeRequest, AnalyzeResponse>((message, done) => client.analyze(message, done), request);
  const analyzeStack = (request: AnalyzeStackRequest) =>
    call<AnalyzeStackRequest, AnalyzeResponse>(
      (message, done) => client.analyzeStack(message, done),
      request,
    );

  after(() => {
    client?.close();
    pack?.kill();
  });

  it("describes the pack: name, version, every policy mandatory, the capacity target required", async () => {
    const info = await call<Empty, AnalyzerInfo>(
      (request, done) => client.getAnalyzerInfo(request, done),
      new Empty(),
    );
    assert.equal(info.getName(), "items-api");
    assert.equal(info.getVersion(), "0.1.0");
    assert.ok(info.getSupportsconfig());
    const described = info.getPoliciesList();
    assert.deepEqual(
      described.map((policy) => [policy.getName(), policy.getEnforcementlevel()]),
      policies.map((policy) => [policy.name, EnforcementLevel.MANDATORY]),
    );
    const capacity = described.find((policy) => policy.getName() === CAPACITY_POLICY);
    assert.deepEqual(capacity?.getConfigschema()?.getRequiredList(), ["targetConcurrentRequests"]);
  });

  it("passes the real Redis instance, labelled through its provider's JSON-encoded defaultLabels", async () => {
    const redis = plan.resources.find((resource) => resource.type === TYPES.redisInstance);
    assert.ok(redis);
    const response = await analyze(analyzeRequest(plan, redis));
    assert.deepEqual(summary(response.getDiagnosticsList()), []);
  });

  it("blocks Redis without AUTH with a mandatory violation", async () => {
    const redis = plan.resources.find((resource) => resource.type === TYPES.redisInstance);
    assert.ok(redis);
    const broken = { ...redis, inputs: { ...redis.inputs, authEnabled: false } };
    const response = await analyze(analyzeRequest(plan, broken));
    // No URN in a resource diagnostic: the engine attributes it to the resource it sent.
    assert.deepEqual(summary(response.getDiagnosticsList()), [
      { policy: "redis-auth-and-tls", level: EnforcementLevel.MANDATORY, urn: "" },
    ]);
    assert.match(response.getDiagnosticsList()[0].getMessage(), /authEnabled false/);
  });

  it("checks capacity against the configured target over the whole stack", async () => {
    const passing = await analyzeStack(stackRequest(plan, plan.resources));
    assert.deepEqual(summary(passing.getDiagnosticsList()), []);
    const withoutAutoscaler = plan.resources.filter(
      (resource) => resource.type !== TYPES.horizontalPodAutoscaler,
    );
    const failing = await analyzeStack(stackRequest(plan, withoutAutoscaler));
    assert.deepEqual(summary(failing.getDiagnosticsList()), [
      { policy: CAPACITY_POLICY, level: EnforcementLevel.MANDATORY, urn: "" },
    ]);
  });
});
