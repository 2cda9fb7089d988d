"""Eight processes writing and reading the logs at once (``xargs -P 8``) lose nothing,
double nothing and never see "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.logs.kit import everything

WRITERS, EACH = 8, 60

WRITER = """
import sys
from pathlib import Path
from llmx.logs import append
from llmx.logs_db import open_logs
from tests.logs.kit import entry

home, name = Path(sys.argv[1]), sys.argv[2]
big = "y" * 40_000 if name in ("w0", "w1") else ""  # these two make writers drain too
for i in range(EACH):
    append(entry(prompt=f"{name} {i}", answer="a" + big, cid=name), home)
    if i % 7 == 3:
        connection = open_logs(home)
        assert connection is not None
        connection.execute("SELECT count(*) FROM logs").fetchone()
        connection.close()
sys.stdout.write(f"done {name}\\n")  # one write: whole lines even unbuffered
""".replace("EACH", str(EACH))


def test_eight_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    home = tmp_path / "state"
    names = "\n".join(f"w{i}" for i in range(WRITERS)) + "\n"
    done = subprocess.run(["xargs", "-P", str(WRITERS), "-n", "1", sys.executable, "-c",
                           WRITER, str(home)], input=names, capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(done.stdout.split("\n")) == sorted(["", *(f"done w{i}" for i in range(WRITERS))])
    found = everything(home)
    assert len(found) == WRITERS * EACH
    assert len({e.uid for e in found}) == WRITERS * EACH
    for i in range(WRITERS):
        mine = [e.prompt for e in found if e.cid == f"w{i}"]
        assert sorted(mine) == sorted(f"w{i} {n}" for n in range(EACH))
