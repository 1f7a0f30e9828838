#!/usr/bin/env python3
"""make_seeds.py: writes the tiny seed inputs of the fuzzers (run once from the repo root:
python3 tests/fuzz/seeds/make_seeds.py). Standard library only. The PNG and IDX seeds use
pixel(x, y, k) below, so tests/c/test_readers.c checks the decoder against an encoder
written independently of it (here, in Python, with Python's zlib)."""
import gzip, os, struct, zlib

ROOT = os.path.dirname(os.path.abspath(__file__))

def pixel(x, y, k):
    return ((x * 131 + y * 71 + k * 29) ^ (x * y * 13)) & 255

def write(fuzzer, name, data):
    d = os.path.join(ROOT, fuzzer)
    os.makedirs(d, exist_ok=True)
    assert len(data) < 4096, name
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

def raw_deflate(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()

def gzip_member(data, level=6, flags=0, extra=b'', name=b'', comment=b''):
    head = b'\x1f\x8b\x08' + bytes([flags]) + b'\0\0\0\0' + b'\0\x03'
    if flags & 4: head += struct.pack('<H', len(extra)) + extra
    if flags & 8: head += name + b'\0'
    if flags & 16: head += comment + b'\0'
    if flags & 2: head += struct.pack('<H', zlib.crc32(head) & 0xffff)
    return head + raw_deflate(data, level) + struct.pack('<II', zlib.crc32(data), len(data) & 0xffffffff)

# ---- gzip / zlib / raw DEFLATE
text = b''.join(b'line %d: the quick brown fox jumps over the lazy dog %d\n' % (i, i * i % 97) for i in range(40))
write('fuzz_gzip', 'dynamic.gz', gzip_member(text, 9))
write('fuzz_gzip', 'fixed.gz', gzip_member(b'hello hello hello, gzip!', 9))
write('fuzz_gzip', 'stored.gz', gzip_member(text[:300], 0))
write('fuzz_gzip', 'multi.gz', gzip_member(b'first member\n') + gzip_member(b'second member\n', 1))
write('fuzz_gzip', 'header.gz', gzip_member(text[:200], 6, 2 | 4 | 8 | 16, b'AB\x02\0hi', b'a.txt', b'a comment'))
write('fuzz_gzip', 'zlib.z', zlib.compress(text, 9))
write('fuzz_gzip', 'raw.deflate', raw_deflate(bytes(range(256)) * 4 + text[:500]))

# ---- IDX
def idx_images(n, rows, cols):
    px = bytes(pixel(j % cols, (j // cols) % rows, j // (rows * cols)) for j in range(n * rows * cols))
    return struct.pack('>IIII', 2051, n, rows, cols) + px
def idx_labels(n):
    return struct.pack('>II', 2049, n) + bytes(i * 7 % 10 for i in range(n))
write('fuzz_idx', 'images.idx', idx_images(3, 4, 5))
write('fuzz_idx', 'labels.idx', idx_labels(10))
write('fuzz_idx', 'images.idx.gz', gzip.compress(idx_images(4, 7, 6), 9, mtime=0))
write('fuzz_idx', 'labels.idx.gz', gzip.compress(idx_labels(50), 9, mtime=0))

# ---- PNG: every colour type, every filter type (row y uses filter y % 5)
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

def filter_rows(rows, bpp, first=0):
    out, prev = b'', bytes(len(rows[0]))
    for y, row in enumerate(rows):
        f = (y + first) % 5
        enc = bytearray()
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            enc.append((v - pred) & 255)
        out += bytes([f]) + bytes(enc)
        prev = row
    return out

def chunk(t, data):
    return struct.pack('>I', len(data)) + t + data + struct.pack('>I', zlib.crc32(t + data))

def png(w, h, ctype, idat_parts=1, extra_chunks=(), first=0):
    bpp = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
    rows = [bytes(pixel(x, y, k) for x in range(w) for k in range(bpp)) for y in range(h)]
    z = zlib.compress(filter_rows(rows, bpp, first), 9)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ctype, 0, 0, 0))
    for t, d in extra_chunks: out += chunk(t, d)
    step = (len(z) + idat_parts - 1) // idat_parts
    for i in range(0, len(z), step): out += chunk(b'IDAT', z[i:i + step])
    return out + chunk(b'IEND', b'')

write('fuzz_png', 'gray.png', png(7, 10, 0))
write('fuzz_png', 'gray_alpha.png', png(6, 10, 4, first=2))
write('fuzz_png', 'rgb.png', png(5, 10, 2, first=1))
write('fuzz_png', 'rgba.png', png(4, 10, 6, first=3))
write('fuzz_png', 'rgb_3idat_text.png', png(9, 11, 2, 3, [(b'tEXt', b'Comment\0seed')], first=4))
write('fuzz_png', 'gray_1x1.png', png(1, 1, 0))

# ---- shards (layout in core/readers.h)
def shard(n, c, h, w, classes):
    px = bytes(pixel(j % w, (j // w) % h, j // (h * w)) for j in range(n * c * h * w))
    lb = bytes(i * 5 % classes for i in range(n))
    body = b'NLSHARD1' + struct.pack('<8I', 1, n, c, h, w, classes, 0, 0) + px + lb
    return body + struct.pack('<I', zlib.crc32(body))
write('fuzz_shard', 'gray.shard', shard(5, 1, 4, 3, 10))
write('fuzz_shard', 'rgb.shard', shard(3, 3, 5, 4, 4))
write('fuzz_shard', 'one.shard', shard(1, 1, 1, 1, 1))

# ---- pickles: the three shapes of the Planetoid files (core/pickle.h), assembled
# opcode by opcode in the layout Python 2 / numpy / scipy wrote them (protocol 2)
def p_str(s):
    s = s if isinstance(s, bytes) else s.encode()
    return (b'U' + bytes([len(s)]) if len(s) < 256 else b'T' + struct.pack('<i', len(s))) + s

def p_int(v):
    if 0 <= v < 256: return b'K' + bytes([v])
    if 0 <= v < 65536: return b'M' + struct.pack('<H', v)
    return b'J' + struct.pack('<i', v)

def p_array(shape, code, data, memo_first):
    # _reconstruct(ndarray, (0,), 'b') then BUILD (1, shape, dtype(code, 0, 1) + BUILD state, False, bytes)
    shp = b''.join(p_int(d) for d in shape) + (b'\x85' if len(shape) == 1 else b'\x86')
    return (b'cnumpy.core.multiarray\n_reconstruct\nq' + bytes([memo_first]) + b'cnumpy\nndarray\n' +
            p_int(0) + b'\x85' + p_str('b') + b'\x87R(' + p_int(1) + shp +
            b'cnumpy\ndtype\n' + p_str(code) + p_int(0) + p_int(1) + b'\x87R(' + p_int(3) + p_str('<') +
            b'NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff' + p_int(0) + b'tb\x89' + p_str(data) + b'tb')

def p_csr(rows, cols, entries):
    indptr, indices, vals = [0], [], []
    for r in range(rows):
        for c in sorted(entries.get(r, [])):
            indices.append(c); vals.append(1.0)
        indptr.append(len(indices))
    i32 = lambda v: struct.pack('<%di' % len(v), *v)
    return (b'\x80\x02cscipy.sparse.csr\ncsr_matrix\nq\x01)\x81q\x02}q\x03(' + p_str('format') + p_str('csr') +
            p_str('_shape') + p_int(rows) + p_int(cols) + b'\x86' +
            p_str('indptr') + p_array([len(indptr)], 'i4', i32(indptr), 7) +
            p_str('_cs_matrix__has_sorted_indices') + b'\x88' +
            p_str('indices') + p_array([len(indices)], 'i4', i32(indices), 8) + p_str('maxprint') + p_int(50) +
            p_str('data') + p_array([len(vals)], 'f4', struct.pack('<%df' % len(vals), *vals), 9) + b'ub.')

def p_labels(onehot):
    flat = [v for row in onehot for v in row]
    return b'\x80\x02' + p_array([len(onehot), len(onehot[0])], 'i4', struct.pack('<%di' % len(flat), *flat), 1) + b'.'

def p_graph(adj):
    out = b'\x80\x02ccollections\ndefaultdict\nq\x01c__builtin__\nlist\nq\x02\x85Rq\x03('
    for k, (node, nbrs) in enumerate(adj):
        out += p_int(node) + b']' + (b'q' + bytes([4 + k]) if k < 200 else b'r' + struct.pack('<I', 4 + k))
        out += (p_int(nbrs[0]) + b'a') if len(nbrs) == 1 else b'(' + b''.join(p_int(v) for v in nbrs) + b'e'
    return out + b'u.'

write('fuzz_pickle', 'csr.pkl', p_csr(5, 300, {0: [3, 17, 299], 2: [0], 4: [5, 6, 7, 8]}))
write('fuzz_pickle', 'labels.pkl', p_labels([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]]))
write('fuzz_pickle', 'graph.pkl', p_graph([(0, [1, 2]), (1, [0]), (2, [0, 300, 2]), (300, [2])]))
