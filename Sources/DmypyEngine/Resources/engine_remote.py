"""Remote cache: a cache slot's generation as one archive in shared storage, keyed portably.

A slot (`engine_cache.py`) belongs to one directory on one machine. A remote cache is the same
generation (`manifest.json` and mypy's `cache/`) packed as one gzip'd tar archive, stored under

    <prefix>/<portable key>/<commit>/cache-<sha256 prefix>.tar.gz
    <prefix>/<portable key>/<commit>/manifest.json        (written last: it names the archive)

The portable key is the slot key without what differs between machines that check the same
code the same way: the project's directory, the interpreter's path and its build string.
What is left: mypy's version, Python's major.minor and implementation, the platform, every
option of mypy's snapshot (paths inside the project made relative) and the plugins' versions.

The network is the `dmypy` binary's (`dmypy cache fetch`, Swift, S3 or file://); this module
builds and packs an archive (`export`), and unpacks a downloaded one into the local slot
(`install`), checking everything: the portable key, the checksum, every member confined to the
slot (regular files and directories only), and the slot's own verification afterwards.

Run as `python dmypy_engine_remote.py <export|keys|pull> <spec json>`, it prints one JSON line.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import dmypy_engine_cache as slots

FORMAT = 1
MANIFEST = "manifest.json"
MACHINE_OPTIONS = ("python_executable",)  # where this machine's interpreter is, not how to check
DEFAULT_TIMEOUT = 30.0
MAX_ARCHIVE_MEMBERS = 200_000


class RemoteProblem(Exception):
    """Why a remote cache is not used (the build goes cold, and `cache status` says why)."""


# Keys.


def _portable(value: Any, directory: str) -> Any:
    if isinstance(value, str) and (value == directory or value.startswith(directory + os.sep)):
        return os.path.relpath(value, directory)
    if isinstance(value, (list, tuple)):
        return [_portable(v, directory) for v in value]
    return value


def portable_key(snapshot: dict[str, Any], plugins: dict[str, str], directory: str) -> tuple[str, dict[str, Any]]:
    from mypy.version import __version__

    material = {
        "format": FORMAT,
        "slot_format": slots.FORMAT,
        "mypy": __version__,
        "python": "%s %d.%d" % (sys.implementation.name, *sys.version_info[:2]),
        "platform": sys.platform,
        "options": {k: _portable(v, directory) for k, v in snapshot.items() if k not in MACHINE_OPTIONS},
        "plugins": plugins,
    }
    return slots.key_of(material), material


def keys(spec: dict[str, Any]) -> dict[str, Any]:
    """The local slot and the portable key for these flags in the current directory."""
    from mypy.dmypy_server import process_start_options

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        options = process_start_options(list(spec["flags"]), bool(spec["allow_sources"]))
    snapshot, plugins, directory = options.snapshot(), slots.plugins_snapshot(options), os.getcwd()
    key, _ = slots.slot_key(snapshot, plugins, directory)
    portable, material = portable_key(snapshot, plugins, directory)
    return {
        "key": key,
        "slot": slots.slot_dir(str(spec["root"]), directory, key),
        "portable_key": portable,
        "mypy_version": material["mypy"],
        "python": material["python"],
        "platform": material["platform"],
    }


def location(directory: str, environ: dict[str, str]) -> str | None:
    """Where the remote cache is: `DMYPY_REMOTE_CACHE`, else pyproject.toml's
    `[tool.dmypy-swift] remote-cache`; "" or "off" in the variable turns it off."""
    value = environ.get("DMYPY_REMOTE_CACHE")
    if value is not None:
        return None if value.strip().lower() in ("", "off", "0", "no", "false") else value.strip()
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11: mypy depends on tomli there
        try:
            import tomli as tomllib  # type: ignore[import-not-found, no-redef]
        except ImportError:
            return None
    try:
        with open(os.path.join(directory, "pyproject.toml"), "rb") as f:
            table = tomllib.load(f).get("tool", {}).get("dmypy-swift", {})
    except (OSError, ValueError):
        return None
    value = table.get("remote-cache") if isinstance(table, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


# Export: a sequential build of the project, packed.


def export(spec: dict[str, Any]) -> dict[str, Any]:
    """Builds a fresh slot for the flags in a private root (never the user's slots, never mypy's
    parallel mode), and packs its generation into `spec["out"]`: the archive and the manifest."""
    found = keys({"flags": spec["flags"], "allow_sources": spec["allow_sources"], "root": spec["out"]})
    root = os.path.join(spec["out"], "slots")
    written = slots.write(
        {
            "root": root,
            "key": found["key"],
            "flags": spec["flags"],
            "allow_sources": spec["allow_sources"],
            "command": "run",
            "data": {"args": spec["flags"], "version": found["mypy_version"]},
        }
    )
    if not written.get("written"):
        return {"exported": False, "reason": written.get("reason", "the cache was not written")}
    generation = os.path.realpath(os.path.join(written["slot"], "current"))
    with open(os.path.join(generation, MANIFEST), encoding="utf-8") as f:
        slot_manifest = json.load(f)
    staging = os.path.join(spec["out"], "archive.tmp")
    with tarfile.open(staging, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.path.join(generation, MANIFEST), arcname=MANIFEST, recursive=False)
        tar.add(os.path.join(generation, "cache"), arcname="cache", filter=_normalized)
    checksum = slots.file_digest(staging)
    archive_name = f"cache-{checksum[:16]}.tar.gz"
    archive = os.path.join(spec["out"], archive_name)
    os.rename(staging, archive)
    manifest = {
        "format": FORMAT,
        "portable_key": found["portable_key"],
        "commit": spec.get("commit"),
        "archive": archive_name,
        "sha256": checksum,
        "bytes": os.path.getsize(archive),
        "unpacked_bytes": slot_manifest["bytes"],
        "mypy_version": found["mypy_version"],
        "python": found["python"],
        "platform": found["platform"],
        "modules": slot_manifest["modules"],
        "dependency_edges": slot_manifest["dependency_edges"],
        "producer": "dmypy-swift cache push: " + slot_manifest["producer"],
        "written_at": time.time(),
        "build_seconds": slot_manifest.get("build_seconds"),
    }
    manifest_path = os.path.join(spec["out"], MANIFEST)
    with open(manifest_path, "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    return {**manifest, "exported": True, "archive": archive, "manifest": manifest_path}


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if info.name.endswith(("-wal", "-shm", "-journal")):
        return None  # sqlite's side files
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


# Install: a downloaded archive into the local slot.


def _slot_budget() -> int:
    """The most a slot may unpack to: the user's whole cache budget (`DMYPY_CACHE_MAX_MB`)."""
    try:
        megabytes = int(os.environ.get("DMYPY_CACHE_MAX_MB") or 0)
    except ValueError:
        megabytes = 0
    return megabytes << 20 if megabytes > 0 else slots.DEFAULT_MAX_TOTAL_BYTES


def _unpack(archive: str, staging: str) -> None:
    """Unpacks in one pass, each member checked before it is written: a regular file or a
    directory, inside the archive's two names (`manifest.json`, `cache/`), and all of them
    together within the slot budget (a small archive can unpack to a huge one)."""
    budget, total = _slot_budget(), 0
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(archive, "r|gz") as tar:
        for number, info in enumerate(tar):
            if number >= MAX_ARCHIVE_MEMBERS:
                raise RemoteProblem("the archive has too many members")
            total += info.size
            if total > budget:
                raise RemoteProblem(f"the archive unpacks to more than {budget >> 20} MiB (DMYPY_CACHE_MAX_MB)")
            name = info.name
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or "\\" in name or "\0" in name:
                raise RemoteProblem(f"the archive has a member outside the slot ({name!r})")
            if not (info.isreg() or info.isdir()):
                raise RemoteProblem(f"the archive has a member that is not a regular file ({name!r})")
            if not (name == MANIFEST or name == "cache" or name.startswith("cache/")):
                raise RemoteProblem(f"the archive has an unexpected member ({name!r})")
            info.mode = 0o700 if info.isdir() else 0o600
            tar.extract(info, staging, **safe)


def _translated(path: str, producer: str, directory: str, typeshed: tuple[str, str]) -> str | None:
    """A path of the producer's build as the same file here: inside the project, or mypy's own
    typeshed; None for anything else (an installed package: it stays unmatched)."""
    if path == producer or path.startswith(producer + os.sep):
        return os.path.join(directory, os.path.relpath(path, producer))
    marker = os.sep + os.path.join("mypy", "typeshed") + os.sep
    at = path.find(marker)
    if at >= 0:
        return os.path.join(typeshed[1], path[at + len(marker):])
    return None


def install(
    archive: str, remote_manifest: dict[str, Any], found: dict[str, Any], root: str
) -> tuple[dict[str, Any], tuple[str, dict[str, Any]]]:
    """Unpacks a verified archive as the local slot's current generation, then verifies the slot.
    Returns the report and what `slots.verified` gave (the loader uses it, not a second pass)."""
    import mypy

    if remote_manifest.get("format") != FORMAT:
        raise RemoteProblem("it was written by another version of dmypy-swift")
    if remote_manifest.get("portable_key") != found["portable_key"]:
        raise RemoteProblem(
            "it was written for other options or another mypy or Python version "
            f"(mypy {remote_manifest.get('mypy_version')}, {remote_manifest.get('python')})"
        )
    if remote_manifest.get("sha256") != slots.file_digest(archive):
        raise RemoteProblem("the archive does not match its checksum (truncated or changed)")
    directory, slot, key = os.getcwd(), found["slot"], found["key"]
    lock = slots.claim(root, directory, slot)
    if lock is None:
        raise RemoteProblem("another daemon is writing this cache now")
    staging = os.path.join(slot, f"staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        os.makedirs(staging)
        try:
            _unpack(archive, staging)
        except (tarfile.TarError, EOFError, OSError, ValueError) as e:
            raise RemoteProblem(f"the archive cannot be unpacked ({type(e).__name__}: {e})") from None
        manifest_path = os.path.join(staging, MANIFEST)
        try:
            with open(manifest_path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise RemoteProblem(f"the archive's slot manifest cannot be read ({e})") from None
        producer = str(manifest.get("project") or "")
        typeshed = ("", os.path.join(os.path.dirname(mypy.__file__), "typeshed"))
        sources = {}
        for path, digest in (manifest.get("sources") or {}).items():
            here = _translated(path, producer, directory, typeshed)
            if here is not None:
                sources[here] = digest
            else:
                sources[path] = digest  # unmatched here: "nothing changed" cannot be claimed
        # The module graph with this checkout's paths. No file's stat is evidence here (`settled`
        # is the producer's): the loader reads each file, and stats it from then on once settled.
        graph = {}
        for module, entry in (manifest.get("graph") or {}).items():
            here = _translated(str(entry.get("path")), producer, directory, typeshed) if isinstance(entry, dict) else None
            if here is not None:
                graph[module] = dict(entry, path=here)
        evidence = manifest.get("evidence") or {}
        manifest.update(
            key=key,
            project=directory,
            graph=graph,
            producer=f"{manifest.get('producer')}; pulled from the remote cache (commit {remote_manifest.get('commit')})",
            sources=sources,
            settled={},
            evidence={
                kind: sorted({t for t in (_translated(p, producer, directory, typeshed) for p in evidence.get(kind, [])) if t})
                for kind in ("files", "directories")
            },
            remote={k: remote_manifest.get(k) for k in ("commit", "archive", "sha256", "written_at", "producer")},
        )
        with open(manifest_path, "w", encoding="utf-8") as f:
            json.dump(manifest, f)
        generation = slots.publish(slot, staging)
        try:
            verified = slots.verified(slot, key)
        except slots.SlotProblem as e:
            slots.discard(slot, str(e))
            raise RemoteProblem(f"the unpacked cache does not verify: {e}") from None
        slots.evict(root, directory, slot, generation, _slot_budget())
        report = {"installed": True, "slot": slot, "modules": manifest.get("modules"), "commit": remote_manifest.get("commit")}
        return report, verified
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.close()


# Pull: fetch (through the dmypy binary) and install.


def fetch(fetcher: list[str], url: str, portable: str, into: str, timeout: float) -> dict[str, Any]:
    """Runs `dmypy cache fetch`, which finds the first cached commit and downloads its archive."""
    argv = [*fetcher, "--location", url, "--key", portable, "--into", into, "--timeout", str(timeout)]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout + 5, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise RemoteProblem(f"the remote cache did not answer within {timeout:g} s") from None
    except OSError as e:
        raise RemoteProblem(f"the remote cache fetcher cannot run ({e})") from None
    try:
        report = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RemoteProblem(f"the remote cache fetcher ended ({done.returncode}) without a report") from None
    if not isinstance(report, dict):
        raise RemoteProblem("the remote cache fetcher's report is not an object")
    return report


def pull(
    found: dict[str, Any], root: str, remote: dict[str, Any], environ: dict[str, str]
) -> tuple[dict[str, Any], tuple[str, dict[str, Any]] | None]:
    """Installs the remote cache of the nearest cached commit as the local slot. Returns a report
    (`installed`, `reason`, `commit`, `distance`, `seconds`) and, when installed, the verified
    slot (`slots.verified`'s cache directory and manifest); never raises for a remote problem."""
    started = time.monotonic()
    url = remote.get("location") or location(os.getcwd(), environ)
    report: dict[str, Any] = {"installed": False, "location": url}
    verified = None
    if not url:
        report["reason"] = "no remote cache is configured"
        return report, None
    timeout = float(remote.get("timeout") or environ.get("DMYPY_REMOTE_CACHE_TIMEOUT") or DEFAULT_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="dmypy-remote-") as into:
        try:
            fetched = fetch(list(remote["fetcher"]), url, found["portable_key"], into, timeout)
            report.update({k: fetched[k] for k in ("commit", "distance", "looked_up", "head") if k in fetched})
            if not fetched.get("found"):
                raise RemoteProblem(str(fetched.get("reason") or "no remote cache was found"))
            installed, verified = install(str(fetched["archive"]), dict(fetched["manifest"]), found, root)
            report.update(installed)
            report["reason"] = f"pulled the remote cache of commit {str(fetched.get('commit'))[:12]}"
            distance = int(fetched.get("distance") or 0)
            if distance:
                report["reason"] += f" ({distance} commit{'s' if distance != 1 else ''} before the merge-base)"
        except RemoteProblem as e:
            report["reason"] = "remote cache: " + str(e)
        except Exception as e:  # never a crash of the engine's start: a cold build instead
            report["reason"] = f"remote cache: failed ({type(e).__name__}: {e})"
    report["seconds"] = round(time.monotonic() - started, 3)
    return report, verified


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("export", "keys", "pull"):
        print("usage: export|keys|pull SPEC_JSON", file=sys.stderr)
        return 2
    sys.setrecursionlimit(2**14)
    spec = json.loads(argv[1])
    try:
        if argv[0] == "export":
            outcome = export(spec)
        elif argv[0] == "keys":
            outcome = keys(spec)
            outcome["location"] = location(os.getcwd(), dict(os.environ))
            try:
                cache_dir, manifest = slots.verified(outcome["slot"], outcome["key"])
                outcome["local"] = {k: manifest.get(k) for k in ("modules", "written_at", "producer", "remote", "bytes")}
            except (slots.SlotProblem, OSError) as e:
                outcome["local"] = None
                outcome["local_reason"] = str(e)
        else:
            found = keys(spec)
            outcome = {**found, **pull(found, str(spec["root"]), dict(spec.get("remote") or {}), dict(os.environ))[0]}
    except Exception as e:
        import traceback

        outcome = {"reason": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
