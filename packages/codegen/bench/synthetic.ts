/** A synthetic library of `protocols` protocols with `methods` methods each, mixing every method kind and common types. */
export function syntheticLibrary(protocols: number, methods: number): string {
  const lines = [
    'library bench.gen;',
    'const MAX: u32 = 64;',
    'enum Code : u32 { A = 1; B = 2; C = 3; }',
    'bits Flags : u16 { X = 1; Y = 2; Z = 4; }',
    'struct Item { id: u64; name: string<MAX>; flags: Flags; tags: vector<string<8>, 4>; next: Item?; }',
    'union Value { 1: number: i64; 2: text: string<32>; 3: item: Item; }',
  ];
  for (let p = 0; p < protocols; p++) {
    lines.push(`/// Protocol number ${p}.`, `protocol Service${p} {`);
    for (let m = 0; m < methods; m++) {
      switch (m % 5) {
        case 0:
          lines.push(`  /// Method ${m}.`, `  get${m}(key: string<MAX>, at: u64) -> (value: Value, code: Code) error Code;`);
          break;
        case 1:
          lines.push(`  put${m}(item: Item, flags: Flags) -> ();`);
          break;
        case 2:
          lines.push(`  oneway notify${m}(values: vector<i32, 8>, target: client<Service${p}>?);`);
          break;
        case 3:
          lines.push(`  event changed${m}(id: u64, value: Value);`);
          break;
        default:
          lines.push(`  list${m}(offset: u32, count: u16) -> (items: vector<Item, 16>, more: bool);`);
      }
    }
    lines.push('}');
  }
  return lines.join('\n');
}
