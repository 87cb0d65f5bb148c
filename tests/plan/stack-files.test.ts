import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { PlanError } from "../../plan/errors";
import { documentConfig, readStackFiles, runtimeConfig, SECRET_PLACEHOLDER } from "../../plan/stack-files";

const PROJECT_FILE = `name: shop
runtime: nodejs
config:
  shop:replicas:
    type: integer
    default: 2
  shop:platform:
    type: string
  region: europe-west1
`;

const STACK_FILE = `config:
  gcp:project: shop-dev
  shop:platform: gke
  shop:database:
    tier: db-f1-micro
    window: { day: 6, hour: 3 }
  shop:apiKey:
    secure: v1:AAAA:BBBB
`;

describe("readStackFiles", () => {
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "plan-config-"));
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), PROJECT_FILE);
    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), STACK_FILE);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function badInput(overrides: Record<string, string>, stack = "dev"): string {
    try {
      readStackFiles(root, stack, overrides);
    } catch (error) {
      assert.ok(error instanceof PlanError);
      assert.equal(error.exitCode, 2);
      return error.message;
    }
    return assert.fail("expected a PlanError");
  }

  it("hands the program strings, structured values as JSON, Pulumi.yaml defaults included", () => {
    const config = readStackFiles(root, "dev", {});

    assert.deepEqual(runtimeConfig(config), {
      "shop:replicas": "2",
      "shop:region": "europe-west1",
      "gcp:project": "shop-dev",
      "shop:platform": "gke",
      "shop:database": '{"tier":"db-f1-micro","window":{"day":6,"hour":3}}',
      "shop:apiKey": SECRET_PLACEHOLDER,
    });
    assert.deepEqual(config.secretKeys, ["shop:apiKey"]);
    assert.equal(documentConfig(config).apiKey, "[secret]");
  });

  it("keeps a top-level override a string and types a dotted one like `pulumi config set --path`", () => {
    const config = readStackFiles(root, "dev", {
      replicas: "3",
      "shop:database.window.day": "7",
      "database.tier": "db-custom-2-7680",
      "database.ha": "true",
      apiKey: "plain now",
    });

    assert.equal(config.values["shop:replicas"], "3");
    assert.deepEqual(config.values["shop:database"], {
      tier: "db-custom-2-7680",
      window: { day: 7, hour: 3 },
      ha: true,
    });
    assert.deepEqual(config.secretKeys, [], "a plain override replaces the secret");
  });

  it("rejects what the Pulumi CLI rejects, and bad override keys, with exit code 2", () => {
    assert.match(badInput({ replicas: "two" }), /^shop:replicas: must be of type integer/);
    assert.match(badInput({}, "prod"), /stack file for stack "prod" not found/);
    assert.match(
      badInput({ "platform.name": "x" }),
      /^--config platform\.name: shop:platform is not a mapping/,
    );
    assert.match(badInput({ "bad key": "x" }), /^--config bad key: not a config key/);

    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), "config:\n  gcp:project: shop-dev\n");
    assert.match(badInput({}), /^shop:platform: is required/);
  });
});
