"""Precision and recall of the likely-twin rule (issue 14) on orgs with planted twins and namesakes.

    .venv/bin/python tests/bench/bench_twins.py [--users 50000] [--twins 300] [--namesakes 300]
                                                [--seeds 1 2 3]

An org of ``--users`` accounts (90 % SCIM-provisioned employees, 10 % manual: contractors, invitees,
admins), names drawn with a Zipf-like skew from 160 given × 400 family names, so common names repeat
and accidental namesakes occur as in a real org. Planted on top, without any shared address:

* **twins** — one person's pre-SCIM manual account (``given.family@legacy…``, created 2024) and the
  account Entra created for them (UPN ``gfamily@…`` / ``given.family@…`` / ``given.familyN@…``,
  created 2026): the name as the HR system spells it (sometimes without accents, or in capitals, or
  a nickname the rule cannot know: ``Bob``/``Robert``); 70 % the SCIM account never used, 20 % the
  manual one not used since, 10 % both used;
* **namesakes** — a manual account of one person and a SCIM account of *another* person with the
  same name (a contractor and an employee both called "Maria Silva"): 80 % both in use, 20 % the
  contractor's account dormant; the employee's UPN follows the org's pattern, so its local part
  often matches the contractor's address.

Ground truth is the planted twin pairs; every name-matched finding that is not one is a false positive
(planted namesake or accidental). Reported per confidence threshold (certain; certain + likely; all):
precision, recall, and how many planted namesakes reached it. No timing: this measures judgement.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.core.reconcile.findings import Account  # noqa: E402 - after the path is set
from console.services.reconcile import ReconcileEngine  # noqa: E402
from console.services.reconcile.sources import write_snapshot  # noqa: E402

GIVEN = [f"{a}{b}" for a in ("an", "be", "ca", "da", "el", "fa", "ga", "ha", "jo", "ka", "la", "ma", "na",
                             "ol", "pa", "ra", "sa", "ta", "vi", "wi")
         for b in ("na", "ra", "lo", "ta", "mi", "ko", "se", "ne")]                     # 160 given names
FAMILY = [f"{a}{b}{c}" for a in ("b", "c", "d", "f", "g", "h", "k", "l", "m", "n")
          for b in ("ar", "el", "or", "un", "in")
          for c in ("son", "berg", "ez", "ova", "ini", "ton", "man", "ski")]            # 400 family names
ACCENTS = {"a": "á", "e": "é", "o": "ó", "u": "ú", "i": "í", "n": "ñ"}
OLD, NEW = "2024-03-01T12:00:00+00:00", "2026-01-05T12:00:00+00:00"
USED_OLD, USED_NEW = "2025-06-01T09:00:00+00:00", "2026-11-01T09:00:00+00:00"


def _zipf(rng: random.Random, items: list[str]) -> str:
    return items[min(len(items) - 1, int(rng.paretovariate(1.1)) - 1)] if rng.random() < 0.6 \
        else rng.choice(items)


def _accent(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    return word[:i] + ACCENTS.get(word[i], word[i]) + word[i + 1:]


def generate(users: int, twins: int, namesakes: int, seed: int) -> tuple[list[Account], set[frozenset[str]],
                                                                          set[frozenset[str]]]:
    rng = random.Random(seed)
    accounts: list[Account] = []
    ids = iter(range(10 ** 9))

    def uid() -> str:
        return f"u{next(ids):08d}"

    def scim(user_name: str, name: str, *, used: str | None = None) -> Account:
        obj = f"o-{rng.getrandbits(64):016x}"
        return Account(uid(), user_name, (user_name,), created_via="scim", external_id=obj, idp_link=obj,
                       display_name=name, created_at=NEW, last_login_at=used)

    def manual(address: str, name: str, *, used: str | None = USED_OLD, via: str = "manual") -> Account:
        return Account(uid(), address, (address,), created_via=via, display_name=name, created_at=OLD,
                       last_login_at=used)

    def upn(g: str, f: str, n: int) -> str:
        style = rng.random()
        if style < 0.5:
            return f"{g[0]}{f}{n if rng.random() < 0.3 else ''}@corp.example"
        if style < 0.85:
            return f"{g}.{f}{n if rng.random() < 0.3 else ''}@corp.example"
        return f"{g}.{f}{n}@corp.example"

    background = users - 2 * twins - 2 * namesakes
    for i in range(background):  # the org: employees (SCIM) and manual accounts, names repeating
        g, f = _zipf(rng, GIVEN), _zipf(rng, FAMILY)
        name = f"{g.title()} {f.title()}"
        if rng.random() < 0.9:
            used = USED_NEW if rng.random() < 0.9 else None
            accounts.append(scim(f"{g}.{f}.{i}@corp.example", name, used=used))
        else:
            accounts.append(manual(f"{g}.{f}.{i}@partner{i % 50}.example", name,
                                   via=rng.choice(("manual", "invite")),
                                   used=USED_NEW if rng.random() < 0.7 else USED_OLD))
    truth: set[frozenset[str]] = set()
    for i in range(twins):
        g, f = rng.choice(GIVEN), rng.choice(FAMILY)
        name = f"{g.title()} {f.title()}"
        r = rng.random()
        hr = name if r < 0.6 else (f"{_accent(rng, g).title()} {_accent(rng, f).title()}" if r < 0.8
                                   else name.upper() if r < 0.95 else name.replace(g.title()[:2], "Bo", 1))
        u = rng.random()  # < 0.7: SCIM account never used; < 0.9: manual not used since; else both used
        m = manual(f"{g}.{f}@legacy.example", name, used=USED_NEW if u >= 0.9 else USED_OLD)
        s = scim(upn(g, f, i), hr, used=None if u < 0.7 else USED_NEW)
        accounts += [m, s]
        truth.add(frozenset({m.id, s.id}))
    planted_namesakes: set[frozenset[str]] = set()
    for i in range(namesakes):
        g, f = rng.choice(GIVEN), rng.choice(FAMILY)
        name = f"{g.title()} {f.title()}"
        m = manual(f"{g}.{f}@contractor{i % 20}.example", name,
                   used=USED_NEW if rng.random() < 0.8 else USED_OLD)
        s = scim(upn(g, f, 10_000 + i), name, used=USED_NEW)
        accounts += [m, s]
        planted_namesakes.add(frozenset({m.id, s.id}))
    rng.shuffle(accounts)
    return accounts, truth, planted_namesakes


def measure(accounts: list[Account], truth: set[frozenset[str]], namesakes: set[frozenset[str]],
            workdir: Path) -> dict[str, dict[str, float]]:
    path = workdir / "platform.csv"
    write_snapshot(path, accounts)
    with ReconcileEngine("bench", workdir=workdir) as engine:
        engine.load_platform_snapshot(path)
        engine.set_org_domains(["corp.example", "legacy.example"])  # as the admin API reports them
        t = time.perf_counter()
        engine.analyze()
        seconds = time.perf_counter() - t
        found = [(frozenset(a.id for a in f.accounts), f.confidence)
                 for f in engine.findings(cls="manual_twin") if f.detail == "name_match"]
    out: dict[str, dict[str, float]] = {"analysis": {"seconds": seconds}}
    for label, levels in (("certain", {"certain"}), ("certain+likely", {"certain", "likely"}),
                          ("all", {"certain", "likely", "possible"})):
        got = {pair for pair, c in found if c in levels}
        tp = len(got & truth)
        out[label] = {"findings": len(got), "true": tp, "precision": tp / len(got) if got else 1.0,
                      "recall": tp / len(truth) if truth else 1.0, "namesakes": len(got & namesakes),
                      "accidental": len(got - truth - namesakes)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--twins", type=int, default=300)
    ap.add_argument("--namesakes", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    a = ap.parse_args()
    print(f"{a.users:,} accounts, {a.twins} planted twins, {a.namesakes} planted namesakes; "
          f"load average {os.getloadavg()[0]:.2f}")
    for seed in a.seeds:
        accounts, truth, namesakes = generate(a.users, a.twins, a.namesakes, seed)
        with tempfile.TemporaryDirectory(prefix="bench-twins-") as d:
            r = measure(accounts, truth, namesakes, Path(d))
        print(f"seed {seed} (analysis {r['analysis']['seconds']:.2f} s):")
        for label in ("certain", "certain+likely", "all"):
            x = r[label]
            print(f"  {label:<15} findings {x['findings']:>4}  true {x['true']:>4}  "
                  f"precision {x['precision']:.3f}  recall {x['recall']:.3f}  "
                  f"planted namesakes {x['namesakes']:>3}  accidental {x['accidental']:>3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
