"""Dataset downloads: mirrors tried in turn, checksums verified, files written atomically."""

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request

_CHUNK = 1 << 20
_USER_AGENT = "fastnn-datasets"


def file_digest(path, algorithm="md5"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check_integrity(path, checksum, algorithm="md5"):
    """Whether ``path`` exists and has the given checksum (any file if ``checksum`` is None)."""
    if not os.path.isfile(path):
        return False
    return checksum is None or file_digest(path, algorithm) == checksum.lower()


def _fetch(url, directory, filename, algorithm, timeout):
    """Downloads ``url`` into a temporary file in ``directory``; returns (temp path, hex digest)."""
    h = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    fd, tmp = None, os.path.join(directory, f".{filename}.{os.urandom(6).hex()}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            received = 0
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                received += len(block)
                h.update(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
            if declared is not None and declared.isdigit() and int(declared) != received:
                raise OSError(f"incomplete download: received {received} of {declared} bytes")
        os.fsync(fd)
        os.close(fd)
        fd = None
        return tmp, h.hexdigest()
    except BaseException:
        if fd is not None:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def download_file(filename, directory, mirrors, checksum, algorithm="md5", timeout=30.0):
    """Makes ``directory/filename`` a verified copy of ``mirror + filename`` for the first mirror
    that works.

    An existing file with the right checksum is kept. Each download goes to a temporary file that
    replaces the target only once its checksum matches, so a failed or interrupted download never
    leaves a partial file under the real name. Raises RuntimeError listing what each mirror did.
    """
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, filename)
    if check_integrity(target, checksum, algorithm):
        return target
    failures, unreachable = [], 0
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        try:
            tmp, digest = _fetch(url, directory, filename, algorithm, timeout)
        except urllib.error.HTTPError as e:
            failures.append(f"{url}: HTTP error {e.code} {e.reason}")
            continue
        except urllib.error.URLError as e:
            unreachable += 1
            failures.append(f"{url}: cannot connect ({e.reason})")
            continue
        except (http.client.HTTPException, socket.timeout, OSError) as e:
            unreachable += isinstance(e, (socket.timeout, TimeoutError, ConnectionRefusedError))
            failures.append(f"{url}: download failed ({type(e).__name__}: {e})")
            continue
        if checksum is not None and digest != checksum.lower():
            os.unlink(tmp)
            failures.append(f"{url}: checksum mismatch ({algorithm} of the download is {digest}, expected {checksum})")
            continue
        os.replace(tmp, target)
        return target
    if not failures:
        failures.append("(no mirrors configured)")
    hint = " No mirror could be reached: are you offline?" if unreachable == len(failures) else ""
    raise RuntimeError(
        f"could not download {filename} from any mirror.{hint}\n  "
        + "\n  ".join(failures)
        + f"\nDownload it yourself and place it in {directory}, or check your internet connection."
    )
