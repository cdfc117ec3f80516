import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('pnpm start (the demo)', () => {
  it('runs on all three arches, shows the capability checks and the kill, and leaks nothing', () => {
    const out = execFileSync(process.execPath, [new URL('../dist/main.js', import.meta.url).pathname], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) expect(out).toContain(`=== ${arch} ===`);
    expect(out.match(/GET motd -> "hello from alice"/g)).toHaveLength(3);
    expect(out.match(/handle without SEND -> PermissionDenied/g)).toHaveLength(3);
    expect(out.match(/forged handle 0x7777 -> InvalidCapability/g)).toHaveLength(3);
    expect(out.match(/2 MiB message -> MessageTooLarge/g)).toHaveLength(3);
    expect(out.match(/GET poem -> 102400 bytes, intact/g)).toHaveLength(3);
    expect(out.match(/carol woke with ChannelClosed/g)).toHaveLength(3);
    expect(out.match(/\(back to baseline\)/g)).toHaveLength(3);
    expect(out).toMatch(/rax\s+= 0x0000000000000002/);
    expect(out).toMatch(/x8\s+= 0x0000000000000002/);
    expect(out).toMatch(/a7\s+= 0x0000000000000002/);
  });
});
