// What a wasm file's code is made of: each function body's size in bytes,
// named from the name section (keep it: wasm-bindgen keeps it unless told
// not to; run this before wasm-opt strips it), summed per crate and listed
// per function. Usage: node scripts/wasm-top.mjs FILE.wasm [N]
// Prints the N (default 25) largest crates and functions, the data size, and
// the code of each of issue 15's suspects (functions matched by name; each
// function counted once, in the first group it matches): the most that
// removing that suspect entirely could save, before wasm-opt and brotli.
import fs from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/wasm-top.mjs FILE.wasm [N]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const buf = fs.readFileSync(file);
let pos = 8;

function leb() {
  let result = 0, shift = 0, byte;
  do {
    byte = buf[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return result;
}

let imported = 0;
const bodies = [];
const names = new Map();
let dataBytes = 0;
while (pos < buf.length) {
  const id = buf[pos++];
  const size = leb();
  const end = pos + size;
  if (id === 2) { // imports: functions among them take the first indices
    const n = leb();
    for (let i = 0; i < n; i++) {
      pos += leb(); pos += leb(); // module, field
      const kind = buf[pos++];
      if (kind === 0) { leb(); imported++; } else if (kind === 1) { pos++; const f = leb(); leb(); if (f & 1) leb(); }
      else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); } else if (kind === 3) { pos += 2; } else { pos++; leb(); }
    }
  } else if (id === 10) {
    const n = leb();
    for (let i = 0; i < n; i++) { const s = leb(); bodies.push(s); pos += s; }
  } else if (id === 11) {
    dataBytes += size;
  } else if (id === 0) {
    const nameLen = leb();
    const name = buf.subarray(pos, pos + nameLen).toString();
    pos += nameLen;
    if (name === 'name') {
      while (pos < end) {
        const sub = buf[pos++];
        const subSize = leb();
        const subEnd = pos + subSize;
        if (sub === 1) {
          const n = leb();
          for (let i = 0; i < n; i++) {
            const idx = leb(); const len = leb();
            names.set(idx, buf.subarray(pos, pos + len).toString());
            pos += len;
          }
        }
        pos = subEnd;
      }
    }
  }
  pos = end;
}

// A legacy-mangled Rust symbol (`_ZN5alloc2rc7Rc$LT$T$GT$4drop17h…E`) as a path.
function demangle(name) {
  if (!name.startsWith('_ZN')) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && /\d/.test(name[i])) {
    let j = i;
    while (/\d/.test(name[j])) j++;
    const len = Number(name.slice(i, j));
    parts.push(name.slice(j, j + len));
    i = j + len;
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1])) parts.pop();
  return parts.join('::')
    .replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$RF\$/g, '&').replace(/\$u20\$/g, ' ')
    .replace(/\$C\$/g, ',').replace(/\$u7b\$/g, '{').replace(/\$u7d\$/g, '}').replace(/\$BP\$/g, '*')
    .replace(/\.\./g, '::').replace(/^_</, '<');
}

// The crate a function's code belongs to: the first crate named in its path
// (for `<T as Trait>::f`, the type's crate, where the code was written for it).
function crateOf(name) {
  const d = demangle(name);
  if (d.startsWith('__wbg') || d.startsWith('__wbindgen') || d.startsWith('wasm_bindgen::__')) return 'wasm-bindgen glue';
  const m = d.replace(/^[<&*\s]+(mut\s+|dyn\s+|const\s+)?/, '').match(/^([A-Za-z_][A-Za-z0-9_]*)::/);
  return m ? m[1] : '(other)';
}

const total = bodies.reduce((a, b) => a + b, 0);
const byCrate = new Map();
const fns = bodies.map((size, i) => {
  const name = names.get(i + imported) ?? `func[${i + imported}]`;
  const c = crateOf(name);
  byCrate.set(c, (byCrate.get(c) ?? 0) + size);
  return { name: demangle(name), size };
});
const kb = (n) => `${(n / 1024).toFixed(1).padStart(7)} KB`;
const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${bodies.length} functions, code ${kb(total)}, data ${kb(dataBytes)}, named ${names.size}`);
console.log(`\ntop crates by code size`);
for (const [c, n] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${kb(n)} ${pct(n)}  ${c}`);
console.log(`\ntop functions by code size`);
for (const f of fns.sort((a, b) => b.size - a.size).slice(0, top)) console.log(`${kb(f.size)} ${pct(f.size)}  ${f.name.slice(0, 140)}`);

// Issue 15's suspects, by the names of the functions they bring in.
const SUSPECTS = [
  ['serde_json Value, decoding (reply -> Value -> T)', /serde_json::value::de|serde_json::value::Value as serde::de|ValueVisitor|serde_json::value::from_value|MapDeserializer|SeqDeserializer/],
  ['serde_json Value, building (json! bodies, to_value)', /serde_json::value::ser|serde_json::map::Map|serde_json::value::to_value|SerializeMap as serde::ser|json_internal/],
  ['serde_json text reader/writer', /^serde_json::(de|ser|read|error)|<serde_json::(de|ser|read)/],
  ['serde derive visitors (field/struct visitors, deserialize_with)', /__FieldVisitor|__Visitor|__DeserializeWith|__Field as serde|as serde(_core)?::de::(Visitor|Deserialize|DeserializeSeed)>|serde(_core)?::de::(Visitor|MapAccess|SeqAccess)|serde(_core)?::de::/],
  ['serde derive Serialize', /as serde(_core)?::ser::(Serialize|SerializeStruct|SerializeMap|Serializer)>|serde(_core)?::ser::/],
  ['JS boundary serde (serde-wasm-bindgen)', /serde_wasm_bindgen/],
  ['core::fmt and float formatting (format!)', /^core::fmt|^<[^>]* as core::fmt::(Display|Debug)>|core::num::flt2dec|core::num::fmt|alloc::fmt::format/],
  ['hash maps (hashbrown, RandomState)', /hashbrown|std::collections::hash|RandomState/],
  ['BTreeMap/BTreeSet', /alloc::collections::btree/],
  ['yew hooks and Rc<dyn Any> state', /yew::functional|HookContext|use_reducer|use_state|use_effect/],
  ['yew virtual DOM and rendering', /^yew::(html|virtual_dom|dom_bundle|scheduler|renderer)|<yew::(html|virtual_dom|dom_bundle)/],
  ['drop glue (drop_in_place of our types)', /drop_in_place/],
  ['allocator and Vec/String growth', /^dlmalloc|^alloc::raw_vec|RawVec|alloc::alloc::|__rust_alloc|__rdl_/],
];
const claimed = new Set();
console.log(`\nsuspects (issue 15): code each brings, counted once, share of all code`);
for (const [label, re] of SUSPECTS) {
  let n = 0, count = 0;
  fns.forEach((f, i) => {
    if (!claimed.has(i) && re.test(f.name)) { claimed.add(i); n += f.size; count++; }
  });
  console.log(`${kb(n)} ${pct(n)}  ${label} (${count} functions)`);
}
