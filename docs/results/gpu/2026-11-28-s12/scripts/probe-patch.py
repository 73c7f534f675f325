# Probe patches (timing only; wrong results): MODE noload (staging reads no global memory) or
# noform (B̃/C̃ read raw from zxbcdt, without norm and rotation). Bindings stay alive through a
# never-taken branch on dims.L.
import sys
mode = sys.argv[1]
root = '/tmp/basewt/packages/core/src/kernels/webgpu/'
p = root + 'mamba3-scan-tiled.wgsl.ts'
s = open(p).read()
if mode == 'noload':
    helpers = '''
fn xP(i: u32, p4: u32) -> vec4<f32> { if (dims.L == 7u) { return xAt4(i, p4); } return vec4<f32>(0.5); }
fn bP(i: u32, n4: u32) -> vec4<f32> { if (dims.L == 7u) { return bAt4(i, n4); } return vec4<f32>(0.25); }
'''
    helpersOut = '''fn cP(i: u32, n4: u32) -> vec4<f32> { if (dims.L == 7u) { return cAt4(i, n4); } return vec4<f32>(0.125); }
fn sP(a: u32) -> vec4<f32> { if (dims.L == 7u) { return states[a]; } return vec4<f32>(0.75); }
'''
    s = s.replace("'xAt4(i0 + k, p0 / 4u + q) * wState[(i0 + k) / R]'", "'xP(i0 + k, p0 / 4u + q) * wState[(i0 + k) / R]'")
    s = s.replace("${stageRow('Bs', 'valid(i0 + k) && n0 + q * 4u < N', 'bAt4(i0 + k, n0 / 4u + q)')}", "${stageRow('Bs', 'valid(i0 + k) && n0 + q * 4u < N', 'bP(i0 + k, n0 / 4u + q)')}")
    s = s.replace("'cAt4(m, n0 / 4u + kq)'", "'cP(m, n0 / 4u + kq)'")
    s = s.replace("'bAt4(m, n0 / 4u + kq)'", "'bP(m, n0 / 4u + kq)'")
    s = s.replace("'states[(sBase + p0 + m) * N4 + n0 / 4u + kq]'", "'sP((sBase + p0 + m) * N4 + n0 / 4u + kq)'")
    s = s.replace("${stageRow('Bs', 'valid(j0 + k) && p0 + q * 4u < P', 'xAt4(j0 + k, p0 / 4u + q)')}", "${stageRow('Bs', 'valid(j0 + k) && p0 + q * 4u < P', 'xP(j0 + k, p0 / 4u + q)')}")
    s = s.replace("${rowSourceWgsl(rows, false, 3)}\n", "${rowSourceWgsl(rows, false, 3)}\n" + helpers)
    s = s.replace("${rowSourceWgsl(rows, true, 3, !sharedCB)}\n", "${rowSourceWgsl(rows, true, 3, !sharedCB)}\n" + helpersOut + "fn xP(i: u32, p4: u32) -> vec4<f32> { if (dims.L == 7u) { return xAt4(i, p4); } return vec4<f32>(0.5); }\n${sharedCB ? '' : 'fn bP(i: u32, n4: u32) -> vec4<f32> { if (dims.L == 7u) { return bAt4(i, n4); } return vec4<f32>(0.25); }'}\n")
    assert s.count('xP(') >= 4 and s.count('cP(') >= 2, 'patch failed'
elif mode == 'noform':
    q = root + 'mamba3-scan-rows.wgsl.ts'
    r = open(q).read()
    old = """fn ${m}At4(i: u32, n4: u32) -> vec4<f32> {
  let t = rowAt(i);
  let r = i % R;
  let v = ${m}Norm4(t, r, n4);
  ${body}
}`;"""
    new = """fn ${m}Full4(i: u32, n4: u32) -> vec4<f32> {
  let t = rowAt(i);
  let r = i % R;
  let v = ${m}Norm4(t, r, n4);
  ${body}
}
fn ${m}At4(i: u32, n4: u32) -> vec4<f32> {
  if (dims.L == 7u) { return ${m}Full4(i, n4); }
  let r = i % R;
  let rg = ${rg};
  return zx4(rowAt(i) * ${S}u + ${at}u + rg * N + n4 * 4u);
}`;"""
    assert old in r, 'noform patch failed'
    r = r.replace(old, new)
    open(q, 'w').write(r)
else:
    raise SystemExit('mode?')
open(p, 'w').write(s)
print('patched', mode)
