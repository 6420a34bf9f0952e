/*
 * randnum's record verifier, in the browser: the same checks as
 * randnum.signing.records (verifyDraw, verifyChains), with WebCrypto.
 *
 *   randnumVerify.canonical(value) -> string       RFC 8785 canonical JSON
 *   randnumVerify.parseRecord(text) -> {record} or {error}
 *   randnumVerify.verifyRecord(record, publicKeyPem, previousRecord?)
 *     -> Promise<{verdict: "valid" | "invalid", reasons: [string],
 *                 keyId: string, chain: string, notes: [string]}>
 *
 * randnumPages holds what the pages share: their embedded data, and
 * showing a record and a verdict (with textContent only: a record's text
 * never becomes HTML).
 */
(function () {
  "use strict";

  var GENESIS = "0".repeat(64);
  var FIELDS = ["serial", "time", "request", "values", "key", "prev", "signature"];
  var SIGNATURE_FAILS =
    "the signature does not match: the record was changed after signing, " +
    "or signed by another key";

  /* A value that has no canonical form here. */
  function CanonicalError(message) {
    this.message = message;
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
          throw new CanonicalError(
            "the number " + String(value) + ", which is not an integer within " +
            "+-(2**53 - 1)"
          );
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
      throw new Error(
        "this browser offers no cryptography to this page: browsers offer it " +
        "only over HTTPS, on localhost, and to a page saved to disk and " +
        "opened from there"
      );
    }
    return window.crypto.subtle;
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
   * An Ed25519 public key from its PEM (as GET /v1/key gives it) and its
   * id: the hex SHA-256 of the raw 32-byte key, the SPKI's last 32 bytes.
   */
  async function importKey(pem) {
    var der = pemBytes(pem);
    var crypto = subtle();
    var key;
    try {
      key = await crypto.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
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
      return { error: "not a record: the text is not JSON (" + e.message + ")" };
    }
    // JSON.parse reads 1.0 as 1: look at the numbers as written.
    var bare = String(text).replace(/"(?:[^"\\]|\\.)*"/g, '""');
    var numbers = bare.match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) || [];
    for (var i = 0; i < numbers.length; i++) {
      if (/[.eE]/.test(numbers[i])) {
        return { error: "not a record: it holds " + numbers[i] + ", which is not an integer" };
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
      return ["signed by key " + String(record.key) + ", but you trust key " + trusted.keyId];
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

  /* A verdict into the element of id "verdict" (or the one given). */
  function showVerdict(result, target) {
    var box = target || document.getElementById("verdict");
    box.setAttribute("data-verdict", result.verdict);
    box.textContent = "";
    var headings = {
      valid: "Valid: signed by the key you trust, and not changed since",
      invalid: "Invalid: this record does not verify",
      checking: "Checking…",
      unchecked: "Not checked"
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
        list.appendChild(element("li", line));
      });
      box.appendChild(list);
    }
    if (result.keyId) {
      var key = element("p", "Key you trust: ", "key-line");
      key.appendChild(element("code", result.keyId));
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
