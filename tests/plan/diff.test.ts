import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { diffPlans } from "../../plan/diff";
import { formatDiff } from "../../plan/format";
import { PLAN_NOTICE, type PlanDiff, type PlanDocument, type PlanResource } from "../../plan/types";
import { PLAN_TEST_TIMEOUT_MS, planOf, REPO_ROOT, runCli, schemaErrors } from "./helpers";

function resource(
  stack: string,
  name: string,
  inputs: Record<string, unknown>,
  options: Partial<PlanResource> = {},
) {
  return {
    urn: `urn:pulumi:${stack}::shop::test:index:Thing::${name}`,
    type: "test:index:Thing",
    name,
    parent: null,
    provider: null,
    dependsOn: [],
    protect: false,
    inputs,
    inputsFromOutputs: [],
    ...options,
  } satisfies PlanResource;
}

const plan = (stack: string, resources: PlanResource[]): PlanDocument => ({
  project: "shop",
  stack,
  config: {},
  resources,
  outputs: {},
  notice: PLAN_NOTICE,
});

describe("diffPlans", () => {
  it("reports leaf changes with dotted, indexed and quoted paths", () => {
    const before = resource("dev", "db", {
      settings: { tier: "db-f1-micro", ipConfiguration: { sslMode: "ALLOW_UNENCRYPTED_AND_ENCRYPTED" } },
      ports: [{ containerPort: 8080 }],
      labels: { "app.kubernetes.io/name": "api" },
      retired: true,
    });
    const after = resource("dev", "db", {
      settings: { tier: "db-custom-2-7680", ipConfiguration: { sslMode: "ENCRYPTED_ONLY" } },
      ports: [{ containerPort: 9090 }, { containerPort: 9091 }],
      labels: { "app.kubernetes.io/name": "api-v2" },
      added: "yes",
    });

    const diff = diffPlans(plan("dev", [before]), plan("dev", [after]));

    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
    assert.deepEqual(diff.changed, [
      {
        urn: before.urn,
        diff: [
          { path: "added", after: "yes" },
          { path: 'labels["app.kubernetes.io/name"]', before: "api", after: "api-v2" },
          { path: "ports[0].containerPort", before: 8080, after: 9090 },
          { path: "ports[1]", after: { containerPort: 9091 } },
          { path: "retired", before: true },
          {
            path: "settings.ipConfiguration.sslMode",
            before: "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
            after: "ENCRYPTED_ONLY",
          },
          { path: "settings.tier", before: "db-f1-micro", after: "db-custom-2-7680" },
        ],
      },
    ]);
  });

  it("lists added and removed resources by URN, sorted, and leaves unchanged ones out", () => {
    const kept = resource("dev", "kept", { size: 1 });
    const diff = diffPlans(
      plan("dev", [resource("dev", "zeta-gone", {}), kept, resource("dev", "alpha-gone", {})]),
      plan("dev", [resource("dev", "zeta-new", {}), kept, resource("dev", "alpha-new", {})]),
    );

    assert.deepEqual(
      diff.added.map((r) => r.name),
      ["alpha-new", "zeta-new"],
    );
    assert.deepEqual(
      diff.removed.map((r) => r.name),
      ["alpha-gone", "zeta-gone"],
    );
    assert.deepEqual(diff.changed, []);
  });

  it("reports resource options under @-paths, dependsOn as a set", () => {
    const a = resource("dev", "a", {});
    const b = resource("dev", "b", {});
    const before = resource("dev", "c", {}, { dependsOn: [a.urn] });
    const after = resource("dev", "c", {}, { dependsOn: [b.urn], protect: true });

    const diff = diffPlans(plan("dev", [a, b, before]), plan("dev", [a, b, after]));

    assert.deepEqual(diff.changed, [
      {
        urn: after.urn,
        diff: [
          { path: "@protect", before: false, after: true },
          { path: "@dependsOn", before: a.urn },
          { path: "@dependsOn", after: b.urn },
        ],
      },
    ]);
  });

  it("matches resources across stacks although their URNs name the stack", () => {
    const stackOf = (stack: string) =>
      resource(
        stack,
        `shop-${stack}`,
        {},
        {
          urn: `urn:pulumi:${stack}::shop::pulumi:pulumi:Stack::shop-${stack}`,
          type: "pulumi:pulumi:Stack",
        },
      );
    const childOf = (stack: string, tier: string) =>
      resource(stack, "db", { tier }, { parent: stackOf(stack).urn, dependsOn: [stackOf(stack).urn] });

    const diff = diffPlans(
      plan("dev", [stackOf("dev"), childOf("dev", "small")]),
      plan("prod", [stackOf("prod"), childOf("prod", "large")]),
    );

    assert.deepEqual(diff, {
      added: [],
      removed: [],
      changed: [
        { urn: childOf("prod", "large").urn, diff: [{ path: "tier", before: "small", after: "large" }] },
      ],
      notice: PLAN_NOTICE,
    });
  });

  it("prints the diff like pulumi preview --diff", () => {
    const before = resource("dev", "db", { tier: "small", password: "[secret]" });
    const after = resource("dev", "db", { tier: "large", password: "[secret]", flags: ["x"] });
    const text = formatDiff(
      diffPlans(
        plan("dev", [before, resource("dev", "old", {})]),
        plan("dev", [after, resource("dev", "new", {})]),
      ),
      "dev",
      "dev with --config tier",
    );

    const [heading, blank, ...rest] = text.split("\n");
    const noticeEnd = rest.indexOf("");
    assert.equal(heading, "Changes from dev to dev with --config tier:");
    assert.equal(blank, "");
    // The notice comes first: the diff compares inputs, and the real preview decides.
    assert.equal(
      rest
        .slice(0, noticeEnd)
        .map((line) => line.trim())
        .join(" "),
      PLAN_NOTICE.text,
    );
    assert.equal(
      rest.slice(noticeEnd + 1).join("\n"),
      [
        "+ urn:pulumi:dev::shop::test:index:Thing::new",
        "- urn:pulumi:dev::shop::test:index:Thing::old",
        "~ urn:pulumi:dev::shop::test:index:Thing::db",
        '    + flags: ["x"]',
        '    ~ tier: "small" => "large"',
        "",
        "1 to add, 1 to remove, 1 to change",
        "",
      ].join("\n"),
    );
  });
});

const PRIMARY = "items-api:gcp:Database$gcp:sql/databaseInstance:DatabaseInstance::items-db-primary";

describe("diffs of the real program's plans", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);

  it("shows a database tier set with --config as settings.tier on the instances, nothing else", async () => {
    const before = await planOf("dev");
    const after = await planOf("dev", { "database.tier": "db-custom-2-7680" });
    const diff = diffPlans(before, after);

    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
    const primary = diff.changed.find((change) => change.urn.endsWith(PRIMARY));
    assert.deepEqual(primary?.diff, [
      { path: "settings.tier", before: "db-custom-1-3840", after: "db-custom-2-7680" },
    ]);
    for (const change of diff.changed) {
      assert.match(change.urn, /sql\/databaseInstance:DatabaseInstance::/);
      assert.deepEqual(
        change.diff.map((entry) => entry.path),
        ["settings.tier"],
      );
    }
  });

  it("adds one read replica instance, named by its key, when database.replicas gains an entry", async () => {
    const diff = diffPlans(
      await planOf("dev"),
      await planOf("dev", { "database.replicas.reports.zone": "europe-west1-c" }),
    );

    assert.deepEqual(
      diff.added.map((r) => `${r.type} ${r.name}`),
      ["gcp:sql/databaseInstance:DatabaseInstance items-db-replica-reports"],
    );
    assert.deepEqual(diff.removed, []);
  });

  it("swaps Cloud Run resources for GKE ones when the platform changes", async () => {
    const diff = diffPlans(await planOf("dev"), await planOf("dev", { platform: "gke" }));
    const types = (resources: PlanResource[]) => new Set(resources.map((r) => r.type));

    for (const type of [
      "gcp:container/cluster:Cluster",
      "gcp:container/nodePool:NodePool",
      "kubernetes:apps/v1:Deployment",
    ]) {
      assert.ok(types(diff.added).has(type), `expected an added ${type}`);
    }
    assert.ok(types(diff.removed).has("gcp:cloudrunv2/service:Service"));
    assert.ok(!types(diff.added).has("gcp:cloudrunv2/service:Service"));
    assert.ok(!types(diff.removed).has("gcp:sql/databaseInstance:DatabaseInstance"), "the data tier stays");
  });

  it("prints the same diff through the CLI with --against dev --json", async () => {
    const result = await runCli([
      "--stack",
      "dev",
      "--config",
      "database.tier=db-custom-2-7680",
      "--against",
      "dev",
      "--json",
    ]);

    assert.equal(result.code, 0, result.stderr);
    const expected = diffPlans(
      await planOf("dev"),
      await planOf("dev", { "database.tier": "db-custom-2-7680" }),
    );
    const printed = JSON.parse(result.stdout) as PlanDiff;
    assert.deepEqual(printed, JSON.parse(JSON.stringify(expected)) as PlanDiff);
    assert.deepEqual(schemaErrors("diff", printed), []);
  });
});

/** The program and its stack files committed alone in a fresh repository, so the test owns HEAD. */
function programRepository(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-git-"));
  const skip = new Set(["node_modules", "dist"]);
  for (const entry of [
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "index.ts",
    "config.ts",
    "components",
    "lib",
    "app-image",
    "package.json",
    "tsconfig.json",
  ]) {
    fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), {
      recursive: true,
      filter: (source) => !skip.has(path.basename(source)),
    });
  }
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=plan test", "-c", "user.email=plan@example.com", ...args], {
      cwd: dir,
      stdio: "pipe",
    });
  git("init", "--quiet");
  fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\n");
  git("add", ".");
  git("commit", "--quiet", "-m", "program");
  return dir;
}

describe("plan --against <git ref>:<stack>", function () {
  this.timeout(PLAN_TEST_TIMEOUT_MS);
  let repository: string;

  before(() => {
    repository = programRepository();
  });
  after(() => fs.rmSync(repository, { recursive: true, force: true }));

  it("compares the working tree with the stack as committed at the ref", async () => {
    const extractedTrees = () =>
      new Set(fs.readdirSync(os.tmpdir()).filter((entry) => entry.startsWith("offline-plan-")));
    const treesBefore = extractedTrees();
    const stackFile = path.join(repository, "Pulumi.dev.yaml");
    fs.writeFileSync(
      stackFile,
      fs.readFileSync(stackFile, "utf8").replace("db-custom-1-3840", "db-custom-2-7680"),
    );

    const result = await runCli(["--stack", "dev", "--against", "HEAD:dev", "--json"], repository);

    assert.equal(result.code, 0, result.stderr);
    const diff = JSON.parse(result.stdout) as PlanDiff;
    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
    const primary = diff.changed.find((change) => change.urn.endsWith(PRIMARY));
    assert.deepEqual(primary?.diff, [
      { path: "settings.tier", before: "db-custom-1-3840", after: "db-custom-2-7680" },
    ]);
    assert.deepEqual(
      [...extractedTrees()].filter((entry) => !treesBefore.has(entry)),
      [],
      "the extracted tree is removed",
    );
  });

  it("rejects an unknown git ref with exit code 2", async () => {
    const result = await runCli(["--stack", "dev", "--against", "no-such-branch:dev"], repository);

    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown git ref "no-such-branch"/);
  });
});

describe("diffPlans on inputs that hold JSON documents", () => {
  it("compares a JSON string as the document, path by path", () => {
    const dashboard = (title: string, columns: number) =>
      JSON.stringify({ displayName: "api", mosaicLayout: { columns, tiles: [{ widget: { title } }] } });
    const before = resource("prod", "dash", { dashboardJson: dashboard("Request rate", 48) });
    const after = resource("prod", "dash", { dashboardJson: dashboard("Requests per second", 48) });

    const diff = diffPlans(plan("prod", [before]), plan("prod", [after]));

    assert.deepEqual(diff.changed, [
      {
        urn: after.urn,
        diff: [
          {
            path: "dashboardJson.mosaicLayout.tiles[0].widget.title",
            before: "Request rate",
            after: "Requests per second",
          },
        ],
      },
    ]);
  });

  it("keeps a string that is not JSON, or becomes JSON, as one change", () => {
    const before = resource("prod", "doc", { note: "{not json", policy: "plain" });
    const after = resource("prod", "doc", { note: "{still not json", policy: '{"bindings":[]}' });

    const diff = diffPlans(plan("prod", [before]), plan("prod", [after]));

    assert.deepEqual(diff.changed[0]?.diff, [
      { path: "note", before: "{not json", after: "{still not json" },
      { path: "policy", before: "plain", after: '{"bindings":[]}' },
    ]);
  });
});
