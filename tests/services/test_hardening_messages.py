"""Messages that say the true cause (issue 16 item 9): each of the review's misleading answers.

A FIFO or ``/dev/zero`` is not "File not found"; ``[1e999999, NaN]`` is not a raw DuckDB error; a
non-ASCII operator token is not a ``UnicodeEncodeError``; ``scim test`` without a keyring is not
"no longer held"; ``| head`` is not a traceback; ``--limit -5`` is refused; an XLSX cell that had
to be cut says so, and the export counts it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import main
from console.core.errors import UserFacingError
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.export import XLSX_MAX_CELL, fit_cell, write_table
from console.services.pending_deliveries import PendingDeliveries
from console.services.scim_setup import enable_scim, pending_token
from console.services.secrets import SecretStore
from tests.sandbox.scim_helpers import create_org

ROOT = Path(__file__).resolve().parents[2]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_fifo_or_device_is_not_file_not_found(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero")):
        code, out = cli(capsys, "logs", "open", str(target))
        assert code == 1
        assert "not a regular file" in out and "File not found" not in out  # noqa: PT018
    code, out = cli(capsys, "logs", "open", str(tmp_path / "missing.json"))
    assert code == 1 and "File not found" in out  # noqa: PT018


def test_json_of_numbers_says_what_it_holds_not_duckdb(tmp_path: Path, capsys) -> None:
    path = tmp_path / "numbers.json"
    path.write_text("[1e999999, NaN]", encoding="utf-8")
    code, out = cli(capsys, "logs", "open", str(path))
    assert code == 1
    assert "2 values are not records" in out
    assert "Invalid Input Error" not in out and "DuckDB" not in out  # noqa: PT018


@pytest.mark.parametrize("token", ["scop_abc\u2019def", "scop_\u00e9t\u00e9", "scop_zero\u200bwidth"])
def test_a_non_ascii_operator_token_is_a_clear_refusal(token: str) -> None:
    with pytest.raises(UserFacingError, match="not plain ASCII"):
        AdminApiClient("http://127.0.0.1:9", token)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("messages") / "platform.db", seed="empty") as s:
        yield s


def test_reading_a_pending_token_without_a_keyring_says_so(server, secrets, store) -> None:
    org = create_org(server)
    deliveries = PendingDeliveries(store.engine)
    with AdminApiClient(server.base_url, server.operator_token) as c:
        result = enable_scim(c, org, secrets, store.audit, operator="op", deliveries=deliveries)
        with pytest.raises(UserFacingError, match="keyring is not available") as caught:
            pending_token(SecretStore.in_memory("no keyring"), org, result.token_info.id, client=c,
                          deliveries=deliveries)
    assert "no longer held" not in str(caught.value)
    assert "pending delivery until" in str(caught.value)


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SCIM_CONSOLE_HOME": str(tmp_path),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    with subprocess.Popen([sys.executable, "-m", "console", "audit", "list"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, cwd=ROOT) as proc:
        assert proc.stdout is not None and proc.stderr is not None  # noqa: PT018
        proc.stdout.close()  # like `| head` that has read enough: the writer gets EPIPE
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err  # noqa: PT018
    assert proc.returncode == 141


@pytest.mark.parametrize("value", ["-5", "0", "ten"])
def test_limit_must_be_a_positive_whole_number(value: str, tmp_path: Path) -> None:
    env = {**os.environ, "SCIM_CONSOLE_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "console", "audit", "list", "--limit", value],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 2
    assert "--limit" in proc.stderr
    assert ("must be 1 or more" in proc.stderr) or ("not a whole number" in proc.stderr)


def test_xlsx_cells_cut_to_fit_are_marked_and_counted(tmp_path: Path) -> None:
    huge = "E" * 20_000_000
    warnings: list[str] = []
    path = tmp_path / "cut.xlsx"
    n = write_table(path, ["detail", "n"], [[huge, 1], ["short", 2], ["F" * (XLSX_MAX_CELL + 1), 3]],
                    warnings=warnings)
    assert n == 3
    assert warnings == [f"2 cell(s) longer than Excel's {XLSX_MAX_CELL:,} characters were cut; each ends "
                        "with '… [cut: N more characters …]'. Export to CSV for the whole values."]
    with zipfile.ZipFile(path) as z:
        strings = z.read("xl/worksheets/sheet1.xml").decode()  # constant_memory: inline strings
    kept = XLSX_MAX_CELL - 100
    assert f"… [cut: {20_000_000 - kept:,} more characters; export to CSV for the whole value]" in strings
    text, cut = fit_cell(huge)
    assert cut and len(text) <= XLSX_MAX_CELL  # noqa: PT018
    assert fit_cell("short") == ("short", False)
    csv_warnings: list[str] = []
    write_table(tmp_path / "whole.csv", ["detail"], [[huge]], warnings=csv_warnings)
    assert csv_warnings == []  # CSV keeps the whole value
    assert len((tmp_path / "whole.csv").read_text(encoding="utf-8-sig")) > 20_000_000
