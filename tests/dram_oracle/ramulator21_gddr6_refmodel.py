# Clean-room behavioural reference model of Ramulator 2.1 GDDR6 (GenericDDR + FRFCFS + AllBank + Open + RoBaRaCoCh, 1 channel, 8Gb_x16).
# Written from the behavioural spec in ramulator21_gddr6_spec.md (not from Ramulator code). Verification oracle only.
# Usage: python3 ramulator21_gddr6_refmodel.py <resolved_config.json> <trace.ldst>
import json, sys
from collections import deque

ACT, PREab, PREpb, RD, WR, RDA, WRA, REFab, REFpb = range(9)
NCMD = 9

def load(cfgpath):
    d = json.load(open(cfgpath))
    c = d['memory_system']['controllers'][0]
    return c

class Dev:
    def __init__(s, ctl):
        dram = ctl['dram']
        s.nbg, s.nbk = dram['org']['count'][1], dram['org']['count'][2]
        s.cons = [[[] for _ in range(NCMD)] for _ in range(3)]
        for e in dram['timing_constraints']:
            lvl, pre, fol, lat = e[0], e[1], e[2], e[3]
            w = e[4] if len(e) > 4 else 1
            for p in pre:
                for f in fol:
                    s.cons[lvl][p].append((f, lat, w))
        # nodes: 0 = channel, 1..nbg = BGs, then banks
        s.nodes = [('ch',)] + [('bg', g) for g in range(s.nbg)] + [('bk', g, b) for g in range(s.nbg) for b in range(s.nbk)]
        n = len(s.nodes)
        s.ready = [[-1] * NCMD for _ in range(n)]
        s.hist = []
        for i, nd in enumerate(s.nodes):
            lvl = len(nd) - 1
            h = []
            for cmd in range(NCMD):
                w = max([t[2] for t in s.cons[lvl][cmd]], default=0)
                h.append(deque([-1] * w, maxlen=w) if w else None)
            s.hist.append(h)
        s.open_row = [None] * (s.nbg * s.nbk)   # None = Closed
        s.tREFI = dram['timing'][20]
        s.read_latency = dram['read_latency']

    def bg_node(s, g): return 1 + g
    def bk_node(s, g, b): return 1 + s.nbg + g * s.nbk + b
    def targets(s, g):   # g None -> wildcard
        if g is None:
            return [(0, 0)] + [(1, s.bg_node(x)) for x in range(s.nbg)] + [(2, s.bk_node(x, y)) for x in range(s.nbg) for y in range(s.nbk)]
        return None

    def path(s, g, b):
        if g is None:
            return [0] + [s.bg_node(x) for x in range(s.nbg)] + [s.bk_node(x, y) for x in range(s.nbg) for y in range(s.nbk)]
        return [0, s.bg_node(g), s.bk_node(g, b)]

    def ok(s, cmd, g, b, clk):
        for nid in s.path(g, b):
            if clk < s.ready[nid][cmd]:
                return False
        return True

    def issue(s, cmd, g, b, row, clk):
        for nid in s.path(g, b):
            lvl = len(s.nodes[nid]) - 1
            h = s.hist[nid][cmd]
            if h is not None:
                h.appendleft(clk)
            for (f, lat, w) in s.cons[lvl][cmd]:
                past = h[w - 1]
                if past < 0: continue
                if past + lat > s.ready[nid][f]:
                    s.ready[nid][f] = past + lat
        if cmd == ACT:
            s.open_row[g * s.nbk + b] = row
        elif cmd in (PREpb, RDA, WRA):
            s.open_row[g * s.nbk + b] = None
        elif cmd == PREab:
            s.open_row = [None] * len(s.open_row)

    def preq(s, final, g, b, row):
        if final in (RD, WR):
            o = s.open_row[g * s.nbk + b]
            if o is None: return ACT
            if o == row: return final
            return PREpb
        if final == REFab:
            return PREab if any(o is not None for o in s.open_row) else REFab
        return final

class Req:
    __slots__ = ('addr', 'wr', 'g', 'b', 'row', 'col', 'arrive', 'depart', 'stat', 'cmd')

def run(cfgpath, tracepath):
    ctl = load(cfgpath)
    dev = Dev(ctl)
    RBS, WBS = ctl['read_buffer_size'], ctl['write_buffer_size']
    hi, lo = ctl['wr_high_watermark'], ctl['wr_low_watermark']
    ACTIVE_MAX = dev.nbg * dev.nbk
    trace = []
    for line in open(tracepath):
        op, a = line.split()
        trace.append((op == 'ST', int(a, 0)))
    rbuf, wbuf, abuf, pbuf = [], [], [], []
    wset = set()
    pending = deque()
    clk = 0
    st = dict(hits=0, miss=0, conf=0, rserved=0, wserved=0, lat=0, nread=0, nwrite=0, fwd=0, coal=0, maint=0)
    write_mode = False
    next_ref = dev.tREFI
    idx = 0
    cycles = 0

    def amap(addr):
        x = addr >> 5
        col = x & 63; x >>= 6
        g = x & 3; x >>= 2
        b = x & 3; x >>= 2
        row = x & ((1 << 14) - 1)
        return g, b, row, col

    def send(wr, addr):
        r = Req(); r.addr = addr; r.wr = wr
        r.g, r.b, r.row, r.col = amap(addr)
        r.stat = False; r.depart = -1
        if not wr and addr in wset:
            r.arrive = clk; r.depart = clk + 1; pending.append(r)
            st['nread'] += 1; st['fwd'] += 1; return True
        r.arrive = clk
        if not wr:
            if len(rbuf) >= RBS: return False
            rbuf.append(r); st['nread'] += 1; return True
        if addr in wset:
            st['nwrite'] += 1; st['coal'] += 1; return True
        if len(wbuf) >= WBS: return False
        wbuf.append(r); wset.add(addr); st['nwrite'] += 1; return True

    def active_in_bank(g, b):
        return any(a.g == g and a.b == b for a in abuf)

    def would_close(cmd, r):
        if cmd == PREpb or cmd == RDA or cmd == WRA:
            return active_in_bank(r.g, r.b)
        if cmd == PREab:
            return len(abuf) > 0
        return False

    def best(buf, filt):
        # oldest timing-ready eligible request; None if no eligible request is ready
        cand = None
        for r in buf:
            r.cmd = dev.preq(RD if not r.wr else WR, r.g, r.b, r.row)
            if filt and would_close(r.cmd, r): continue
            if not dev.ok(r.cmd, r.g, r.b, clk): continue
            if cand is None or r.arrive < cand.arrive: cand = r
        return cand

    n = len(trace)
    count = 0
    while True:
        # frontend tick
        wr, addr = trace[idx]
        if send(wr, addr):
            idx = (idx + 1) % n; count += 1
        if count >= n: break
        # controller tick
        clk += 1; cycles += 1
        while pending and pending[0].depart <= clk:
            p = pending.popleft(); st['lat'] += p.depart - p.arrive
        if clk == next_ref:
            next_ref += dev.tREFI
            pbuf.append('REF'); st['maint'] += 1
        chosen = None; src = None
        c = best(abuf, False)
        if c is not None: chosen, src = c, abuf
        if chosen is None and pbuf:
            cmd = dev.preq(REFab, None, None, None)
            if dev.ok(cmd, None, None, clk) and not would_close(cmd, None):
                dev.issue(cmd, None, None, None, clk)
                if cmd == REFab: pbuf.pop(0)
                continue
        if chosen is None and not pbuf:
            if not write_mode:
                if len(wbuf) > hi * WBS or len(rbuf) == 0: write_mode = True
            else:
                if len(wbuf) < lo * WBS and len(rbuf) != 0: write_mode = False
            buf = wbuf if write_mode else rbuf
            c = best(buf, True)
            if c is not None: chosen, src = c, buf
        if chosen is None: continue
        r = chosen
        if not r.stat:
            r.stat = True
            o = dev.open_row[r.g * dev.nbk + r.b]
            if o is not None and o == r.row: st['hits'] += 1
            elif o is not None: st['conf'] += 1
            else: st['miss'] += 1
        dev.issue(r.cmd, r.g, r.b, r.row, clk)
        final = WR if r.wr else RD
        if r.cmd == final:
            src.remove(r)
            if src is wbuf: wset.discard(r.addr)
            if not r.wr:
                r.depart = clk + dev.read_latency; pending.append(r); st['rserved'] += 1
            else:
                st['wserved'] += 1
        elif r.cmd == ACT:
            if len(abuf) < ACTIVE_MAX:
                abuf.append(r); src.remove(r)
                if src is wbuf: wset.discard(r.addr)
    tck = 570
    avg = st['lat'] / st['rserved'] if st['rserved'] else 0
    bw = (st['rserved'] + st['wserved']) * 32 * 1e6 / (cycles * tck)
    return dict(cycles=cycles, avg_read_latency=round(avg, 3), row_hits=st['hits'], row_misses=st['miss'],
                row_conflicts=st['conf'], total_MBps=round(bw, 1), rserved=st['rserved'], wserved=st['wserved'], maint=st['maint'])

if __name__ == '__main__':
    print(run(sys.argv[1], sys.argv[2]))
