"""A private Virtuoso Open Source server on loopback, for the remote-backend tests.

The server runs from a copy of Debian's ini file with every file it writes (database,
temporary database, transaction log, lock and error log) moved into one temporary folder,
and both its ports (SQL and HTTP) set to free loopback ports.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

BINARY = "virtuoso-t"
SYSTEM_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")


def available() -> bool:
    """Whether the Virtuoso server binary and its Debian ini file are installed."""
    return shutil.which(BINARY) is not None and SYSTEM_INI.is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _private_ini(folder: Path, sql_port: int, http_port: int) -> str:
    text = SYSTEM_INI.read_text(encoding="utf-8")
    files = {
        "DatabaseFile": None,  # set per section below
        "ErrorLogFile": folder / "virtuoso.log",
        "LockFile": folder / "virtuoso.lck",
        "TransactionFile": None,
        "xa_persistent_file": folder / "virtuoso.pxa",
    }
    out: list[str] = []
    section = ""
    for raw in text.splitlines():
        line = raw
        header = re.match(r"^\[(.+)\]", line)
        if header:
            section = header.group(1)
        key = re.match(r"^\s*([A-Za-z_]+)\s*=", line)
        name = key.group(1) if key else ""
        temp = "-temp" if section == "TempDatabase" else ""
        if name == "DatabaseFile":
            line = f"DatabaseFile = {folder / f'virtuoso{temp}.db'}"
        elif name == "TransactionFile":
            line = f"TransactionFile = {folder / f'virtuoso{temp}.trx'}"
        elif name in files and files[name] is not None:
            line = f"{name} = {files[name]}"
        elif name == "ServerPort" and section == "Parameters":
            line = f"ServerPort = 127.0.0.1:{sql_port}"
        elif name == "ServerPort" and section == "HTTPServer":
            line = f"ServerPort = 127.0.0.1:{http_port}"
        elif name == "ResultSetMaxRows":  # cipd-graph checks whole-graph reads against counts
            line = "ResultSetMaxRows = 1000000"
        elif name == "MaxQueryCostEstimationTime":  # its estimate for paths over FROM lists is off
            line = "MaxQueryCostEstimationTime = 0"
        elif name == "DirsAllowed":
            line = f"DirsAllowed = ., {folder}, /usr/share/virtuoso-opensource-7/vad"
        elif name.startswith("Load") and section == "Plugins":
            line = ";" + line  # the wiki plugins are not needed
        elif name == "NumberOfBuffers":
            line = "NumberOfBuffers = 20000"
        out.append(line)
    return "\n".join(out) + "\n"


class Virtuoso:
    """A Virtuoso server in ``folder``; :meth:`start` it, then read :attr:`sparql_url`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sql_port = _free_port()
        self.http_port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        return self.base_url + "/sparql"

    @property
    def update_url(self) -> str:
        return self.base_url + "/sparql-auth"

    @property
    def gsp_url(self) -> str:
        return self.base_url + "/sparql-graph-crud-auth"

    def start(self, timeout_s: float = 60.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(_private_ini(self.folder, self.sql_port, self.http_port), encoding="utf-8")
        log = (self.folder / "stdout.log").open("wb")
        self.process = subprocess.Popen(
            [BINARY, "+foreground", "+configfile", str(ini)],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited: {self.log_tail()}")
            try:
                r = httpx.get(self.sparql_url, params={"query": "ASK {}"}, timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"virtuoso-t did not answer within {timeout_s:g} s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.folder / "virtuoso.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-2000:]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None
