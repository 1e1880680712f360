"""What the security tests look for, as small functions a test can call with plain values:

- `Secrets`: the values a run sets (password, user name, tokens) and `find(blob)`, which finds
  any of them in bytes or text in the encodings a file may hold them in (UTF-8, UTF-16 as
  Chromium's stores use, percent-encoded);
- `scan_tree(root, secrets)`: every regular file under a folder, binary ones included;
- `listeners(pids)`: the TCP sockets in LISTEN state owned by those processes, from
  /proc/net/tcp and /proc/net/tcp6 (inode -> pid through /proc/PID/fd), as (pid, address, port);
- `home_pids(home)`: the processes of a home (BETPIPE_HOME in their environment, or a browser
  profile under its data/), never this process or its ancestors.
"""
from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pipeline.harness.supervise import home_processes

LISTEN = "0A"  # the st column of /proc/net/tcp
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    where: str  # a file, a URL, "notify message 3"
    secret: str  # the secret's name (never its value)
    encoding: str


class Secrets:
    def __init__(self, **named: str):
        assert all(len(v) >= 8 for v in named.values()), "secrets this short would match by chance"
        self.named = named
        self._needles = [(name, enc, needle) for name, value in named.items()
                         for enc, needle in encodings(value)]

    def find(self, blob: bytes | str, where: str) -> list[Finding]:
        data = blob.encode("utf-8", "surrogatepass") if isinstance(blob, str) else blob
        return [Finding(where, name, enc) for name, enc, needle in self._needles if needle in data]

    def without(self, *names: str) -> "Secrets":
        return Secrets(**{k: v for k, v in self.named.items() if k not in names})


def encodings(value: str) -> list[tuple[str, bytes]]:
    """The byte forms of `value` a file, a page or a URL may carry."""
    forms = {"utf-8": value.encode(), "utf-16-le": value.encode("utf-16-le"),
             "utf-16-be": value.encode("utf-16-be"), "percent": quote(value, safe="").encode()}
    seen, out = set(), []
    for k, v in forms.items():
        if v not in seen:
            seen.add(v)
            out.append((k, v))
    return out


def scan_tree(root: Path, secrets: Secrets) -> tuple[list[Finding], int]:
    """(findings, files scanned) for every regular file under `root`; files that vanish while
    walking (a browser's temp files) are skipped."""
    found, count = [], 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                if not path.is_file() or path.is_symlink():
                    continue
                with path.open("rb") as f:
                    data = f.read(MAX_FILE_BYTES)
            except (FileNotFoundError, PermissionError, IsADirectoryError):
                continue
            count += 1
            found += secrets.find(data, str(path))
    return found, count


# --------------------------------------------------------------------------- sockets

def parse_address(hex_addr: str) -> tuple[str, int]:
    """'0100007F:1F90' -> ('127.0.0.1', 8080); 32-hex-digit IPv6 addresses likewise
    (the kernel prints each 32-bit word in host byte order)."""
    addr, port = hex_addr.split(":")
    raw = bytes.fromhex(addr)
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    return str(ipaddress.ip_address(packed)), int(port, 16)


def listening_sockets(table: str) -> dict[int, tuple[str, int]]:
    """inode -> (address, port) of the LISTEN rows of a /proc/net/tcp{,6} text."""
    out = {}
    for line in table.splitlines()[1:]:
        cols = line.split()
        if len(cols) > 9 and cols[3] == LISTEN:
            out[int(cols[9])] = parse_address(cols[1])
    return out


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listeners(pids: list[int]) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket in LISTEN state that one of `pids` holds."""
    table = {}
    for name in ("tcp", "tcp6"):
        try:
            table.update(listening_sockets(Path(f"/proc/net/{name}").read_text()))
        except OSError:
            continue
    return sorted({(pid, *table[i]) for pid in pids for i in socket_inodes(pid) if i in table})


def home_pids(home_root: Path) -> list[int]:
    """Processes of a home (pipeline.harness.supervise.home_processes: BETPIPE_HOME=<home> in their
    environment, or a browser profile under its data/ on their command line)."""
    return sorted(home_processes(home_root))
