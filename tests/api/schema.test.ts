// The body rules of POST and PUT (items/schema.ts) as a unit: what PostgreSQL cannot store (NUL,
// unpaired surrogates, nesting past DATA_MAX_DEPTH) is a 400 with a message that says which rule,
// wherever in `data` it hides, and no nesting however deep makes the check itself fail.
import assert from "node:assert/strict";
import { HttpProblem } from "../../app-image/src/errors";
import { DATA_MAX_DEPTH, parseItemInput } from "../../app-image/src/items/schema";

const UNSTORABLE = /data must not contain NUL characters or unpaired surrogates/;
const TOO_DEEP = new RegExp(`data must not nest deeper than ${DATA_MAX_DEPTH} levels`);

/** `data` nested `levels` deep, counting `data` itself as level 1: {"a":{"a":...{}}}. */
function nested(levels: number, innermost: unknown = {}): unknown {
  let value = innermost;
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}

const rejects = (body: unknown, message: RegExp) =>
  assert.throws(
    () => parseItemInput(body),
    (error) => {
      assert.ok(error instanceof HttpProblem, `a client error, not ${String(error)}`);
      assert.equal(error.status, 400);
      assert.match(error.detail, message);
      return true;
    },
  );

describe("item body rules (parseItemInput)", () => {
  it("accepts ordinary data and hands it on serialized once", () => {
    const data = { sku: "A-1", tags: ["x", "é", "😀"], stock: { n: 3 }, none: null };
    assert.deepEqual(parseItemInput({ name: "widget", data }), {
      name: "widget",
      dataJson: JSON.stringify(data),
    });
    assert.deepEqual(parseItemInput({ name: "widget" }), { name: "widget", dataJson: "{}" });
  });

  it("refuses NUL and unpaired surrogates in values, keys and array elements at any depth", () => {
    for (const bad of ["a\u0000b", "\ud800", "x\udfffy", "\udc00\ud800"]) {
      rejects({ name: "n", data: { k: bad } }, UNSTORABLE);
      rejects({ name: "n", data: { [bad]: 1 } }, UNSTORABLE);
      rejects({ name: "n", data: { list: [1, { deep: [bad] }] } }, UNSTORABLE);
      rejects({ name: "n", data: nested(DATA_MAX_DEPTH - 1, { k: bad }) }, UNSTORABLE);
      rejects({ name: bad }, /name must not contain NUL characters or unpaired surrogates/);
    }
    // A surrogate pair is one well-formed character, not two unpaired halves.
    assert.equal(
      parseItemInput({ name: "\ud83d\ude00", data: { "\ud83d\ude00": "\ud83d\ude00" } }).name,
      "😀",
    );
  });

  it(`allows ${DATA_MAX_DEPTH} levels of nesting and refuses one more, in objects and arrays`, () => {
    assert.ok(parseItemInput({ name: "n", data: nested(DATA_MAX_DEPTH) }).dataJson.startsWith('{"a":'));
    rejects({ name: "n", data: nested(DATA_MAX_DEPTH + 1) }, TOO_DEEP);
    let array: unknown = [];
    for (let level = 2; level <= DATA_MAX_DEPTH + 1; level++) array = [array];
    rejects({ name: "n", data: { a: array } }, TOO_DEEP);
  });

  it("answers a 400, not a stack overflow, for data nested a million levels deep", () => {
    const text = `{"name":"n","data":{"a":${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}}}`;
    rejects(JSON.parse(text), TOO_DEEP);
  });
});
