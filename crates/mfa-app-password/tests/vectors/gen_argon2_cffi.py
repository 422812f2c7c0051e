import argon2, base64
from argon2.low_level import hash_secret, Type, ffi, lib, core, ARGON2_VERSION
print("argon2-cffi", argon2.__version__)
cases = [
 (b"abcdefghijklmnop", b"saltsaltsaltsalt", 2, 19456, 1, 32, Type.ID, 19),
 (b"xkcdcorrecthorse", b"0123456789abcdef", 3, 65536, 4, 32, Type.ID, 19),
 (b"abcdefghijklmnop", b"somesaltsomesalt", 2, 4096, 1, 32, Type.I, 19),
 (b"abcdefghijklmnop", b"somesaltsomesalt", 2, 4096, 1, 32, Type.D, 19),
 (b"abcdefghijklmnop", b"somesaltsomesalt", 2, 4096, 1, 32, Type.ID, 16),
 (b"password", b"somesaltsomesalt", 1, 64, 1, 16, Type.ID, 19),
 (b"abcdefghijklmnop", b"0123456789abcdef0123456789abcdef", 2, 1024, 2, 64, Type.ID, 19),
]
for pw, salt, t, m, p, hl, ty, v in cases:
    print(pw, salt, t, m, p, hl, ty, v, hash_secret(pw, salt, t, m, p, hl, ty, v).decode())
# peppered: raw core with secret
def raw(pw, salt, secret, t, m, p, hl, ty):
    out = ffi.new("uint8_t[]", hl)
    pwd = ffi.new("uint8_t[]", pw); s = ffi.new("uint8_t[]", salt); k = ffi.new("uint8_t[]", secret)
    ctx = ffi.new("argon2_context *", dict(version=19, out=out, outlen=hl, pwd=pwd, pwdlen=len(pw), salt=s, saltlen=len(salt), secret=k, secretlen=len(secret), ad=ffi.NULL, adlen=0, t_cost=t, m_cost=m, lanes=p, threads=p, allocate_cbk=ffi.NULL, free_cbk=ffi.NULL, flags=lib.ARGON2_DEFAULT_FLAGS))
    rc = core(ctx, ty.value)
    assert rc == 0, rc
    return bytes(ffi.buffer(out, hl))
sec = bytes(range(32))
h = raw(b"abcdefghijklmnop", b"saltsaltsaltsalt", sec, 2, 19456, 1, 32, Type.ID)
b64 = lambda x: base64.b64encode(x).decode().rstrip("=")
print("pepper 00..1f", "$argon2id$v=19$m=19456,t=2,p=1$" + b64(b"saltsaltsaltsalt") + "$" + b64(h))
