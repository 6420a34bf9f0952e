/*
 * randnum's record verifier, in the browser: the same checks as
 * randnum.signing.records (verifyDraw, verifyChains), with WebCrypto.
 *
 *   randnumVerify.canonical(value) -> string       RFC 8785 canonical JSON
 *   randnumVerify.parseRecord(text) -> {record} or {error}
 *   randnumVerify.verifyRecord(record, publicKeyPem, previousRecord?)
 *     -> Promise<{verdict: "valid" | "invalid", reasons: [string],
 *                 keyId: string, chain: string, notes: [string]}>
 *     (rejected, with an Error whose `unchecked` is true, when this
 *     browser cannot check at all: no WebCrypto, or no Ed25519 in it)
 *   randnumVerify.capability() -> Promise<null or string>
 *     null if this browser can check records here; else why it cannot
 *
 * randnumPages holds what the pages share: their embedded data, reading
 * what a person pasted, and showing a record and a verdict (with
 * textContent only: a record's text never becomes HTML).
 *
 * A verdict element's data-verdict is "checking", "valid", "invalid",
 * "unchecked" (this browser cannot check: no WebCrypto or no Ed25519) or
 * "error" (what was pasted is not a record or not a key: nothing was
 * checked; data-mistake names which mistake).
 */
(function () {
  "use strict";

  var GENESIS = "0".repeat(64);
  var FIELDS = ["serial", "time", "request", "values", "key", "prev", "signature"];
  var SIGNATURE_FAILS =
    "the signature does not match: the record was changed after signing, " +
    "or signed by another key";
  // The largest whole number JSON readers all read exactly, as people write it.
  var SAFE = "9,007,199,254,740,991";
  var NO_CRYPTO =
    "this browser offers no cryptography to this page: browsers offer it " +
    "only over HTTPS, on localhost, and to a page saved to disk and " +
    "opened from there";
  var NO_ED25519 =
    "this browser's cryptography has no Ed25519, the signature randnum's " +
    "records use: current Chromium, Firefox 129 or later and Safari 17 or " +
    "later have it";
  // RFC 8032's first test key, as SPKI: a key any Ed25519 implementation
  // imports, to tell "no Ed25519 here" from "not a key".
  var PROBE_KEY = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

  /* A value that has no canonical form here. */
  function CanonicalError(message) {
    this.message = message;
  }

  /* Why nothing can be checked in this browser: no verdict, not "invalid". */
  function unchecked(message) {
    var error = new Error(message);
    error.unchecked = true;
    return error;
  }

  /* A long run of digits, shortened for a sentence: its ends and its length. */
  function digits(text) {
    var sign = text.charAt(0) === "-" ? "-" : "";
    var bare = sign ? text.slice(1) : text;
    return bare.length <= 24 ? text :
      sign + bare.slice(0, 8) + "…" + bare.slice(-8) + " (" + bare.length + " digits)";
  }

  /*
   * RFC 8785 for what records hold: objects (members sorted by their
   * names' UTF-16 code units, which is what sort() compares), arrays,
   * strings (escaped as JSON.stringify escapes them), booleans, null and
   * integers within +-(2**53 - 1).  Anything else is refused, as
   * randnum.signing.records.canonical refuses it.
   */
  function canonical(value) {
    if (value === null) {
      return "null";
    }
    switch (typeof value) {
      case "boolean":
        return value ? "true" : "false";
      case "string":
        return JSON.stringify(value);
      case "number":
        if (!Number.isSafeInteger(value)) {
          // Infinity, 1e+400, 2**60 rounded: the digits read are not the
          // ones written, so none is named.
          throw new CanonicalError(Number.isInteger(value) || !isFinite(value) ?
            "a number too large to be exact (beyond ±" + SAFE + ")" :
            "the number " + String(value) + " (not a whole number)");
        }
        return String(value);
      case "object":
        if (Array.isArray(value)) {
          return "[" + value.map(canonical).join(",") + "]";
        }
        return "{" + Object.keys(value).sort().map(function (name) {
          return JSON.stringify(name) + ":" + canonical(value[name]);
        }).join(",") + "}";
      default:
        throw new CanonicalError("a " + typeof value);
    }
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  function subtle() {
    if (!window.crypto || !window.crypto.subtle) {
      throw unchecked(NO_CRYPTO);
    }
    return window.crypto.subtle;
  }

  /* Whether this browser has Ed25519 in its WebCrypto. */
  async function hasEd25519() {
    try {
      await subtle().importKey("spki", base64Bytes(PROBE_KEY), { name: "Ed25519" },
                               false, ["verify"]);
      return true;
    } catch (e) {
      return e.name !== "NotSupportedError";
    }
  }

  /* null if records can be checked here; else, in words, why not. */
  async function capability() {
    if (!window.crypto || !window.crypto.subtle) {
      return NO_CRYPTO;
    }
    return (await hasEd25519()) ? null : NO_ED25519;
  }

  async function sha256Hex(bytes) {
    return hex(new Uint8Array(await subtle().digest("SHA-256", bytes)));
  }

  /* The hex SHA-256 of a record's canonical form: the next record's prev. */
  async function digest(record) {
    return sha256Hex(utf8(canonical(record)));
  }

  /* Strict base64 (as Python's b64decode(validate=True)), or null. */
  function base64Bytes(text) {
    if (typeof text !== "string" || text.length % 4 !== 0 ||
        !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      return null;
    }
    try {
      var binary = atob(text);
    } catch (e) {
      return null;
    }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  /* The DER bytes of a PEM public key, or an Error saying what is wrong. */
  function pemBytes(pem) {
    var match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/
      .exec(String(pem));
    var der = match && base64Bytes(match[1].replace(/\s+/g, ""));
    if (!der) {
      throw new Error(
        "the public key is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)"
      );
    }
    return der;
  }

  /*
   * An Ed25519 public key from its PEM (the publicKey of GET /v1/key) and its
   * id: the hex SHA-256 of the raw 32-byte key, the SPKI's last 32 bytes.
   */
  async function importKey(pem) {
    var der = pemBytes(pem);
    var crypto = subtle();
    var key;
    try {
      key = await crypto.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      if (e.name === "NotSupportedError" && !(await hasEd25519())) {
        throw unchecked(NO_ED25519);
      }
      throw new Error("the public key is not an Ed25519 public key");
    }
    return { key: key, keyId: await sha256Hex(der.slice(der.length - 32)) };
  }

  /*
   * A record from its JSON text: {record} or {error}, as
   * randnum.signing.records.parseRecord reads it (no numbers but integers).
   */
  function parseRecord(text) {
    var record;
    try {
      record = JSON.parse(text);
    } catch (e) {
      // The parser's own words (a position, a token) help no one here.
      return { error: "not a record: the text is not JSON" };
    }
    // JSON.parse reads 1.0 as 1, and 2**60 + 1 as 2**60: look at the
    // numbers as written.
    var bare = String(text).replace(/"(?:[^"\\]|\\.)*"/g, '""');
    var numbers = bare.match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) || [];
    for (var i = 0; i < numbers.length; i++) {
      if (/[.eE]/.test(numbers[i])) {
        return { error: "not a record: it holds " + digits(numbers[i]) +
                        ", which is not a whole number" };
      }
      if (!Number.isSafeInteger(Number(numbers[i]))) {
        return { error: "the record holds the number " + digits(numbers[i]) +
                        ", too large for a record (records hold whole numbers " +
                        "up to ±" + SAFE + "): it was changed after signing" };
      }
    }
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      return { error: "not a record: not a JSON object" };
    }
    return { record: record };
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /* What is wrong with one record on its own, against a trusted key. */
  async function problems(record, trusted) {
    if (!isObject(record)) {
      return ["not a record: not a JSON object"];
    }
    var missing = FIELDS.filter(function (name) {
      return !Object.prototype.hasOwnProperty.call(record, name);
    });
    if (missing.length) {
      return ["not a record: missing " + missing.join(", ")];
    }
    if (!Number.isSafeInteger(record.serial) || record.serial < 1) {
      return ["not a record: its serial is not a positive whole number"];
    }
    // No prototype: a member named "__proto__" stays a member (and is signed).
    var unsigned = Object.create(null);
    Object.keys(record).forEach(function (name) {
      if (name !== "signature") {
        unsigned[name] = record[name];
      }
    });
    var signed;
    try {
      signed = canonical(unsigned);
    } catch (e) {
      if (!(e instanceof CanonicalError)) {
        throw e;
      }
      return ["the record holds " + e.message + ", which no signed record holds: " +
              "it was changed after signing"];
    }
    if (record.key !== trusted.keyId) {
      return ["the record names key " + String(record.key) + ", but the key given is " +
              trusted.keyId];
    }
    var signature = base64Bytes(record.signature);
    var good = signature !== null && await subtle().verify(
      { name: "Ed25519" }, trusted.key, signature, utf8(signed)
    );
    if (!good) {
      return [SIGNATURE_FAILS];
    }
    if (record.serial === 1 && record.prev !== GENESIS) {
      return ["serial 1 starts the chain: its prev must be 64 zeros"];
    }
    return [];
  }

  /*
   * Verify a record against the public key one trusts (PEM), and, given
   * the record before it (serial - 1), the prev link between them.
   */
  async function verifyRecord(record, publicKeyPem, previousRecord) {
    var result = { verdict: "invalid", reasons: [], keyId: "", chain: "not checked", notes: [] };
    // Without cryptography nothing can be checked: that is no verdict (the
    // promise fails), not "invalid".
    subtle();
    var trusted;
    try {
      trusted = await importKey(publicKeyPem);
    } catch (e) {
      if (e.unchecked) {
        throw e;
      }
      result.reasons.push(e.message);
      return result;
    }
    result.keyId = trusted.keyId;
    result.reasons = await problems(record, trusted);
    if (result.reasons.length) {
      return result;
    }
    if (record.serial === 1) {
      result.chain = "first";
    } else if (previousRecord !== undefined && previousRecord !== null) {
      if (!isObject(previousRecord) || previousRecord.serial !== record.serial - 1) {
        var given = isObject(previousRecord) ? previousRecord.serial : "not a record";
        result.notes.push(
          "the record given as the previous one is serial " + String(given) +
          ", not " + (record.serial - 1) + ": the prev link was not checked"
        );
      } else {
        var before = await problems(previousRecord, trusted);
        if (before.length) {
          result.reasons.push(
            "the previous record does not link: serial " + previousRecord.serial +
            " itself does not verify (" + before[0] + ")"
          );
          result.chain = "broken";
          return result;
        }
        var expected = await digest(previousRecord);
        if (record.prev !== expected) {
          result.reasons.push(
            "the previous record does not link: this record's prev is " +
            String(record.prev) + ", but serial " + previousRecord.serial +
            " hashes to " + expected
          );
          result.chain = "broken";
          return result;
        }
        result.chain = "linked";
      }
    }
    result.verdict = "valid";
    return result;
  }

  window.randnumVerify = {
    canonical: canonical,
    parseRecord: parseRecord,
    verifyRecord: verifyRecord,
    capability: capability,
    digest: digest,
    importKey: function (pem) {
      return importKey(pem).then(function (trusted) {
        return trusted.keyId;
      });
    },
    GENESIS: GENESIS
  };

  /* ---- What the pages share. ---- */

  function element(name, text, className) {
    var node = document.createElement(name);
    if (text !== undefined) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  /* The page's embedded data (the script element of id page-data). */
  function data() {
    var holder = document.getElementById("page-data");
    return holder ? JSON.parse(holder.textContent) : {};
  }

  function plain(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  /*
   * A verdict into the element of id "verdict" (or the one given).  A
   * reason or note is a sentence, or {text, href, link}: a sentence
   * followed by a link.
   */
  function showVerdict(result, target) {
    var box = target || document.getElementById("verdict");
    box.setAttribute("data-verdict", result.verdict);
    if (result.mistake) {
      box.setAttribute("data-mistake", result.mistake);
    } else {
      box.removeAttribute("data-mistake");
    }
    box.textContent = "";
    var headings = {
      valid: "Valid: signed with the key named below, and not changed since",
      invalid: "Invalid: this record does not verify",
      checking: "Checking…",
      unchecked: "Not checked: this browser cannot check signatures here",
      error: "Nothing was checked"
    };
    box.appendChild(element("p", result.heading || headings[result.verdict] ||
                            result.verdict, "verdict-title"));
    var lines = (result.reasons || []).concat(result.notes || []);
    if (result.verdict === "valid") {
      if (result.chain === "linked") {
        lines.push("It links to the record before it (its prev matches).");
      } else if (result.chain === "first") {
        lines.push("It is serial 1: the first record of its chain.");
      }
    }
    if (lines.length) {
      var list = element("ul", undefined, "reasons");
      lines.forEach(function (line) {
        if (typeof line === "string") {
          list.appendChild(element("li", line));
          return;
        }
        var item = element("li", line.text + " ");
        var link = element("a", line.link);
        link.href = line.href;
        item.appendChild(link);
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    if (result.keyId) {
      // Whose key it is, as far as this page knows: a verdict is only as
      // good as the key it was checked with.
      var key = element("p", result.keyLabel || "Checked with key ", "key-line");
      key.appendChild(element("code", result.keyId));
      if (result.keyNote) {
        key.appendChild(document.createTextNode(result.keyNote));
      }
      box.appendChild(key);
    }
  }

  /* Rows of a definition list: [[name, value or node], ...]. */
  function facts(list, rows) {
    list.textContent = "";
    rows.forEach(function (row) {
      list.appendChild(element("dt", row[0]));
      var value = element("dd");
      if (row[1] instanceof Node) {
        value.appendChild(row[1]);
      } else {
        value.textContent = plain(row[1]);
      }
      list.appendChild(value);
    });
  }

  var FIRST = ["n", "type"];

  /* A record's request, values, data, time, serial and key, into a <dl>. */
  function showRecord(record, list) {
    var request = element("span");
    if (isObject(record.request)) {
      // What was asked for first (the type, how many), then the rest.
      var names = Object.keys(record.request).sort(function (a, b) {
        return FIRST.indexOf(b) - FIRST.indexOf(a);
      });
      names.forEach(function (name, i) {
        if (i) {
          request.appendChild(document.createTextNode(", "));
        }
        request.appendChild(element("span", name + " ", "param"));
        request.appendChild(element("code", plain(record.request[name])));
      });
    } else {
      request.textContent = plain(record.request);
    }
    var values = element("ol", undefined, "values");
    (Array.isArray(record.values) ? record.values : [record.values]).forEach(function (v) {
      values.appendChild(element("li", plain(v)));
    });
    var rows = [["Serial", record.serial], ["Time (UTC)", record.time], ["Request", request],
                ["Values", values]];
    if (Object.prototype.hasOwnProperty.call(record, "data")) {
      rows.push(["Data", element("span", plain(record.data), "data")]);
    }
    rows.push(["Key id", element("code", plain(record.key))]);
    rows.push(["Previous record's hash", element("code", plain(record.prev))]);
    facts(list, rows);
  }

  function base64url(text) {
    var bytes = utf8(text);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    var padded = text.replace(/-/g, "+").replace(/_/g, "/");
    while (padded.length % 4) {
      padded += "=";
    }
    var bytes = base64Bytes(padded);
    if (!bytes) {
      throw new Error("not base64url");
    }
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  }

  /* ---- What a person pastes: is it what the box asks for? ---- */

  var PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
  var PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----/;
  var PASTE_RECORD = "In the first box, \u201cRecord (JSON)\u201d, paste a signed draw's " +
    "record: the JSON text a signed draw gave, from its first { to its last } " +
    "(GET /v1/draws/SERIAL gives it too).";

  /* Whether `text` holds a private key (of any kind, PEM or OpenSSH). */
  function isPrivateKey(text) {
    return PRIVATE_KEY.test(String(text));
  }

  /* The verdict for a private key pasted where `where` says. */
  function privateKeyWarning(where) {
    return {
      verdict: "error",
      mistake: "private-key",
      heading: "That was a PRIVATE key: never paste it into a web page",
      reasons: [
        "A private key signs draws. Checking a draw never needs it: only the public " +
        "key (-----BEGIN PUBLIC KEY-----), which anyone may see.",
        "This page did not use it and sent it nowhere, and removed it from " + where +
        ". If you pasted it into any page you do not control, treat it as leaked: " +
        "make a new signing key."
      ],
      keyId: ""
    };
  }

  function mistake(code, heading, sentences) {
    return { mistake: code, heading: heading, reasons: sentences };
  }

  function parseJSON(text) {
    try {
      return { value: JSON.parse(text) };
    } catch (e) {
      return null;
    }
  }

  function hasAny(object, names) {
    return names.some(function (name) {
      return Object.prototype.hasOwnProperty.call(object, name);
    });
  }

  /*
   * What was pasted as a record: {text, member?, notes, drawing?} to check
   * (parseRecord(text), or its `member` when the record is inside an
   * answer that holds it), or {mistake, heading, reasons}: what was pasted
   * and what to paste instead.  Text that is a record, damaged or not, is
   * checked (and may be "invalid"); only text that was never one is a
   * mistake.
   */
  function readPasted(text) {
    var trimmed = String(text).trim();
    if (!trimmed) {
      return mistake("empty", "Nothing was checked: the record box is empty",
                     [PASTE_RECORD]);
    }
    if (isPrivateKey(trimmed)) {
      return { mistake: "private-key" };
    }
    var parsed = parseJSON(trimmed);
    if (parsed === null && PUBLIC_KEY.test(trimmed)) {
      return mistake("public-key", "Nothing was checked: that is a public key, not a record",
                     ["It goes in the second box, \u201cPublic key you trust (PEM)\u201d.",
                      PASTE_RECORD]);
    }
    if (parsed === null && /^(https?:\/\/|www\.|\/(verify|draws?)\b)\S*$/i.test(trimmed)) {
      return mistake("link", "Nothing was checked: that is a link, not a record", [
        "Open it in the browser's address bar instead: a verify link " +
        "(\u2026/verify#record=\u2026) and a draw's page (\u2026/draws/SERIAL) " +
        "check the record themselves.",
        PASTE_RECORD
      ]);
    }
    if (parsed === null) {
      var lines = trimmed.split(/\r?\n/).filter(function (line) {
        return line.trim();
      });
      if (lines.length > 1 && lines.every(function (line) {
        var one = parseJSON(line);
        return one !== null && isObject(one.value);
      })) {
        return mistake("several", "Nothing was checked: that is " + lines.length +
                       " records, one a line", [
          "A list of draws (GET /v1/draws) gives one record a line. Paste one line " +
          "at a time, or open each draw's page, /draws/SERIAL.",
          PASTE_RECORD
        ]);
      }
      return mistake("not-json", "Nothing was checked: that is not a record", [
        trimmed.charAt(0) === "{" ?
          "It starts as a record does, but it is cut short or damaged: copy the " +
          "whole record again, from its first { to its last }." :
          "A record is JSON text that starts with { and ends with }.",
        PASTE_RECORD
      ]);
    }
    var value = parsed.value;
    if (Array.isArray(value)) {
      return mistake("not-object", "Nothing was checked: that is a list, not a record",
                     ["Paste one record: a JSON object, from { to }.", PASTE_RECORD]);
    }
    if (!isObject(value)) {
      return mistake("not-object", "Nothing was checked: that is not a record", [
        "It is a single JSON value (" + (value === null ? "null" :
          { number: "a number", string: "a piece of text", boolean: "true or false" }[
            typeof value]) + "), and a record is a JSON object, from { to }.",
        PASTE_RECORD
      ]);
    }
    if (isObject(value.record) && !hasAny(value, ["key", "prev", "signature"])) {
      // An answer that holds a record: a drawing's (/v1/drawings), whose
      // entrants come with it.
      // Parsed again from the text, so that its numbers are read as written.
      var taken = { text: text, member: "record", notes: [] };
      if (Array.isArray(value.entrants)) {
        taken.drawing = { entrants: value.entrants };
        if (typeof value.title === "string") {
          taken.drawing.title = value.title;
        }
        taken.notes.push("This is a drawing's answer (/v1/drawings): its record and " +
                         "its entrant list were checked.");
      } else {
        taken.notes.push("The record was taken from the answer's \u201crecord\u201d member.");
      }
      return taken;
    }
    if (typeof value.publicKey === "string" && !hasAny(value, ["serial", "signature"])) {
      return mistake("key-answer", "Nothing was checked: that is the server's key, not a record", [
        "It is what /v1/key answers: its publicKey goes in the second box, " +
        "\u201cPublic key you trust (PEM)\u201d.",
        PASTE_RECORD
      ]);
    }
    if (!hasAny(value, ["serial", "key", "prev", "signature"])) {
      return mistake("unsigned", "Nothing was checked: that is not a signed record", [
        "It has none of a signed record's members (serial, key, prev, signature). " +
        "An answer to a draw that was not signed has nothing to check: ask for " +
        "signed=true to get a record.",
        PASTE_RECORD
      ]);
    }
    return { text: text, notes: [] };
  }

  /*
   * What was pasted as a key: {pem, notes} to check with, or a mistake as
   * readPasted gives one.
   */
  function readKey(text) {
    var trimmed = String(text).trim();
    var toPaste = "In the second box, \u201cPublic key you trust (PEM)\u201d, paste the " +
      "public key you trust, from -----BEGIN PUBLIC KEY----- to " +
      "-----END PUBLIC KEY-----: a server that signs gives it as publicKey at /v1/key.";
    if (isPrivateKey(trimmed)) {
      return { mistake: "private-key" };
    }
    if (!trimmed) {
      return mistake("key-empty", "Nothing was checked: the key box is empty", [toPaste]);
    }
    var parsed = parseJSON(trimmed);
    if (parsed === null && PUBLIC_KEY.test(trimmed)) {
      return { pem: text, notes: [] };
    }
    if (parsed !== null && isObject(parsed.value) &&
        typeof parsed.value.publicKey === "string" && PUBLIC_KEY.test(parsed.value.publicKey)) {
      return { pem: parsed.value.publicKey,
               notes: ["The key was taken from the publicKey of the /v1/key answer pasted."] };
    }
    return mistake("key-not-pem", "Nothing was checked: the key box holds no public key", [
      parsed !== null && isObject(parsed.value) ?
        "It holds JSON, perhaps a record: records go in the first box." :
        "A public key is PEM text: -----BEGIN PUBLIC KEY-----, a line of letters " +
        "and digits, -----END PUBLIC KEY-----.",
      toPaste
    ]);
  }

  // As randnum.signing.drawings.DATA reads it: the whole data, or no drawing.
  var DRAWING_DATA = /^drawing entrants=[1-9][0-9]{0,4} sha256=[0-9a-f]{64}(?:; [\s\S]+)?$/;

  /* Whether `record` is a public drawing's (its data binds an entrant list). */
  function isDrawing(record) {
    return typeof record.data === "string" && DRAWING_DATA.test(record.data);
  }

  /*
   * A share box after `after`: the link `url` in a field, a button that
   * copies it, and `words` saying what it is.  Only online: a file's
   * links lead nowhere.
   */
  function showShare(after, url, words) {
    if (location.protocol !== "http:" && location.protocol !== "https:") {
      return null;
    }
    var old = document.getElementById("share");
    if (old) {
      old.remove();
    }
    var box = element("section", undefined, "share");
    box.id = "share";
    box.setAttribute("aria-labelledby", "share-label");
    var label = element("label", words);
    label.id = "share-label";
    label.htmlFor = "share-link";
    var row = element("div", undefined, "share-row");
    var field = element("input");
    field.id = "share-link";
    field.type = "text";
    field.readOnly = true;
    field.value = new URL(url, location.href).href;
    field.addEventListener("focus", function () {
      field.select();
    });
    var button = element("button", "Copy link");
    button.type = "button";
    button.id = "copy-link";
    var status = element("span", "", "share-status");
    status.id = "copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", async function () {
      var copied = false;
      try {
        await navigator.clipboard.writeText(field.value);
        copied = true;
      } catch (e) {
        // No clipboard API here (plain HTTP) or no permission: the old way.
        field.focus();
        field.select();
        try {
          copied = document.execCommand("copy");
        } catch (e2) {
          copied = false;
        }
      }
      status.textContent = copied ? "Link copied." : "Select the link and copy it (Ctrl-C).";
    });
    var open = element("a", "Open it");
    open.id = "share-open";
    open.href = field.value;
    row.appendChild(field);
    row.appendChild(button);
    row.appendChild(open);
    row.appendChild(status);
    box.appendChild(label);
    box.appendChild(row);
    after.insertAdjacentElement("afterend", box);
    return box;
  }

  // What Python's str.strip() strips (str.isspace), and nothing else:
  // JavaScript's trim() also strips U+FEFF, which the server keeps (and
  // refuses in a name), and keeps U+001C-U+001F and U+0085, which Python
  // strips.
  var SPACE = "[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
  var EDGES = new RegExp("^" + SPACE + "+|" + SPACE + "+$", "g");

  /* `text` stripped of surrounding whitespace as the server strips it. */
  function strip(text) {
    return String(text).replace(EDGES, "");
  }

  // The characters the server refuses in a name, by the same rule
  // (randnum.signing.drawings): control characters but tab, format
  // characters but the joiners, line and paragraph separators, and lone
  // surrogates.
  var REFUSED = /(?![\t\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

  /* The first character of `text` a name may not hold, or "". */
  function refusedIn(text) {
    var found = REFUSED.exec(String(text));
    return found ? found[0] : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Saved to disk, the links to the server's other pages lead nowhere.
    if (location.protocol === "file:") {
      document.querySelectorAll("a.online").forEach(function (link) {
        link.hidden = true;
      });
    }
  });

  window.randnumPages = {
    data: data,
    element: element,
    facts: facts,
    showVerdict: showVerdict,
    showRecord: showRecord,
    base64url: base64url,
    fromBase64url: fromBase64url,
    readPasted: readPasted,
    readKey: readKey,
    isPrivateKey: isPrivateKey,
    privateKeyWarning: privateKeyWarning,
    isDrawing: isDrawing,
    showShare: showShare,
    strip: strip,
    refusedIn: refusedIn,
    online: function () {
      return location.protocol === "http:" || location.protocol === "https:";
    }
  };
})();

/* ---- Public drawings (randnum.signing.drawings): a record whose data is
   "drawing entrants=N sha256=HEX[; TITLE]" and the entrant list stored
   with it. ---- */
(function () {
  "use strict";
  var DATA = /^drawing entrants=([1-9][0-9]{0,4}) sha256=([0-9a-f]{64})(?:; ([\s\S]+))?$/;

  async function sha256Hex(text) {
    var bytes = new TextEncoder().encode(text);
    var hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.prototype.map.call(hash, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  /* What is wrong with a drawing shown with its record: [] if nothing. The
     list must be the one the record's data binds (its count and SHA-256),
     and each value an entrant's number. */
  async function checkDrawing(record, drawing) {
    var entrants = drawing && drawing.entrants;
    if (!Array.isArray(entrants) || !entrants.every(function (name) {
      return typeof name === "string";
    })) {
      return ["the entrant list shown is not a list of names"];
    }
    var found = typeof record.data === "string" ? DATA.exec(record.data) : null;
    if (!found) {
      return ["the record's data does not describe a drawing " +
              "(drawing entrants=N sha256=...)"];
    }
    var reasons = [];
    var count = Number(found[1]);
    if (entrants.length !== count) {
      reasons.push("the record was signed for " + count + " entrants, but the list shown has " +
                   entrants.length);
    }
    var digest = await sha256Hex(window.randnumVerify.canonical(entrants));
    if (digest !== found[2]) {
      reasons.push("the entrant list shown is not the one the record was signed for " +
                   "(its SHA-256 is " + digest + ", the record's data says " + found[2] + ")");
    }
    var title = found[3] === undefined ? null : found[3];
    if ((drawing.title === undefined ? null : drawing.title) !== title) {
      reasons.push("the title shown is not the one in the record's data");
    }
    var request = record.request || {};
    var values = Array.isArray(record.values) ? record.values : [];
    if (request.type !== "int" || request.min !== 1 || request.max !== count ||
        request.unique !== true || request.n !== values.length) {
      reasons.push("the record's request is not a draw of unique winners among 1.." + count);
    }
    var seen = {};
    values.forEach(function (value) {
      if (!Number.isInteger(value) || value < 1 || value > entrants.length) {
        reasons.push("the value " + JSON.stringify(value) + " is not the number of an entrant");
      } else if (seen[value]) {
        reasons.push("entrant " + value + " was drawn twice");
      }
      seen[value] = true;
    });
    return reasons;
  }

  /* The drawing's title, winners and entrants, into `section` (as text). */
  function showDrawing(record, drawing, section) {
    var element = window.randnumPages.element;
    var entrants = Array.isArray(drawing.entrants) ? drawing.entrants : [];
    section.textContent = "";
    section.hidden = false;
    var winners = element("ol", undefined, "winners");
    (Array.isArray(record.values) ? record.values : []).forEach(function (value) {
      var item = element("li");
      var known = Number.isInteger(value) && value >= 1 && value <= entrants.length;
      item.appendChild(element("span", known ? entrants[value - 1] : "(no such entrant)",
                               "winner-name"));
      item.appendChild(element("span", "entrant #" + value, "winner-index"));
      winners.appendChild(item);
    });
    var drawn = Array.isArray(record.values) ? record.values.length : 0;
    section.appendChild(element("h2", drawn === 1 ? "The winner" :
                                "The winners, in the order drawn"));
    section.appendChild(winners);
    section.appendChild(element("h2", "The entrants (" + entrants.length + ")"));
    var list = element("ol", undefined, "entrants");
    entrants.forEach(function (name) {
      list.appendChild(element("li", name));
    });
    section.appendChild(list);
  }

  window.randnumVerify.checkDrawing = checkDrawing;
  window.randnumPages.showDrawing = showDrawing;
})();
