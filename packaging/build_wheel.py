#!/usr/bin/env python3
"""Builds dist/dmypy_swift-<version>-py3-none-<manylinux tag>.whl around the release binary.

A wheel is a zip (PEP 427 / the binary distribution format spec): the binary goes in
`<name>-<version>.data/scripts/dmypy`, which pip installs as `bin/dmypy` of the environment, and
`<name>-<version>.dist-info/` holds METADATA (core metadata 2.4), WHEEL, the license and RECORD
(every file's sha256 and size). No Python package is installed: the wheel is only the command.

The platform tag is read off the binary, not chosen: manylinux_2_<N>_x86_64 where 2.<N> is the
newest GLIBC_ symbol version it imports (objdump -T). tools/dist then asks auditwheel to confirm.

Usage: build_wheel.py BINARY OUTPUT_DIRECTORY
"""

import base64
import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "dmypy-swift"
DISTRIBUTION = "dmypy_swift"  # the name as file names spell it (normalized, - to _)


def project_settings():
    settings = {}
    with open(os.path.join(ROOT, "packaging", "project.conf"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                settings[key] = value
    return settings


def version():
    return subprocess.run([os.path.join(ROOT, "packaging", "version.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()


def glibc_tag(binary):
    """manylinux_2_N_x86_64 for the newest GLIBC_2.N the binary's dynamic symbols need."""
    symbols = subprocess.run(["objdump", "-T", binary], check=True, capture_output=True, text=True).stdout
    versions = {tuple(int(part) for part in found.split(".")) for found in re.findall(r"\bGLIBC_(2\.\d+)", symbols)}
    if not versions:
        sys.exit(f"build_wheel.py: no GLIBC_ symbol versions in {binary}: is it a dynamically linked ELF?")
    machine = subprocess.run(["objdump", "-f", binary], check=True, capture_output=True, text=True).stdout
    if "x86-64" not in machine:
        sys.exit(f"build_wheel.py: {binary} is not an x86-64 binary:\n{machine}")
    major, minor = max(versions)
    return f"manylinux_{major}_{minor}_x86_64"


def metadata(settings, version, readme):
    headers = [
        ("Metadata-Version", "2.4"),
        ("Name", NAME),
        ("Version", version),
        ("Summary", settings["SUMMARY"]),
        ("License-Expression", settings["LICENSE"]),
        ("License-File", "LICENSE"),
        ("Requires-Python", settings["REQUIRES_PYTHON"]),
        ("Project-URL", f"Homepage, {settings['HOMEPAGE']}"),
        ("Project-URL", f"Source, {settings['HOMEPAGE']}"),
        ("Project-URL", f"Issues, {settings['ISSUES']}"),
        ("Keywords", "mypy,dmypy,type-checking,daemon,systemd"),
        ("Classifier", "Development Status :: 4 - Beta"),
        ("Classifier", "Environment :: Console"),
        ("Classifier", "Intended Audience :: Developers"),
        ("Classifier", "Operating System :: POSIX :: Linux"),
        ("Classifier", "Programming Language :: Python :: 3"),
        ("Classifier", "Programming Language :: Swift"),
        ("Classifier", "Topic :: Software Development :: Quality Assurance"),
        ("Classifier", "Typing :: Typed"),
        ("Description-Content-Type", "text/markdown"),
    ]
    text = "".join(f"{key}: {value}\n" for key, value in headers)
    return text + "\n" + readme


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, output = sys.argv[1], sys.argv[2]
    settings = project_settings()
    ours = version()
    tag = glibc_tag(binary)
    data_dir = f"{DISTRIBUTION}-{ours}.data"
    info_dir = f"{DISTRIBUTION}-{ours}.dist-info"
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
        license_text = f.read()
    with open(binary, "rb") as f:
        executable = f.read()
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: dmypy-swift packaging/build_wheel.py\n"
        "Root-Is-Purelib: false\n"
        f"Tag: py3-none-{tag}\n"
    )
    # (path, bytes, mode): the binary first, the dist-info last, as wheel builders order them.
    files = [
        (f"{data_dir}/scripts/dmypy", executable, 0o755),
        (f"{info_dir}/METADATA", metadata(settings, ours, readme).encode(), 0o644),
        (f"{info_dir}/WHEEL", wheel.encode(), 0o644),
        (f"{info_dir}/licenses/LICENSE", license_text, 0o644),
    ]
    record_path = f"{info_dir}/RECORD"
    record = "".join(record_line(path, data) for path, data, _ in files) + f"{record_path},,\n"
    files.append((record_path, record.encode(), 0o644))

    os.makedirs(output, exist_ok=True)
    target = os.path.join(output, f"{DISTRIBUTION}-{ours}-py3-none-{tag}.whl")
    temporary = target + ".part"
    # A fixed timestamp (SOURCE_DATE_EPOCH, else the last commit's): the same input, the same wheel.
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or subprocess.run(
        ["git", "-C", ROOT, "log", "-1", "--format=%ct"], capture_output=True, text=True).stdout.strip() or 315532800)
    stamp = max(315532800, epoch)  # zip cannot say before 1980
    date_time = time.gmtime(stamp)[:6]
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data, mode in files:
            info = zipfile.ZipInfo(path, date_time=date_time)
            info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(temporary, target)
    print(target)


if __name__ == "__main__":
    main()
