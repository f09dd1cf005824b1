#!/usr/bin/env python3
"""berth-storage-copy: a storage driver plugin that keeps every layer as a full copy of its parent ("vfs").

It speaks Docker's GraphDriver plugin protocol (POST /GraphDriver.*, JSON, {"Err"} errors; ApplyDiff takes and
Diff returns a raw tar) on a unix socket, so Berth finds it by the socket's name:

    berth-storage-copy.py --socket /run/berth/plugins/copyfs.sock        # berthd --storage-driver copyfs

The daemon names the home directory in /GraphDriver.Init. Under it, `layers/ID/` is the whole root filesystem of
layer ID (a `cp -a --reflink=auto` of its parent plus its own changes) and `meta/ID.json` holds {"parent": P}.
Init option (`Opts`): `reflink=auto|always|never`, passed to cp. Layer tars are applied in place with OCI
whiteouts (`.wh.NAME`, `.wh..wh..opq`); entries that would leave the layer directory are refused.
Written in Python, from the standard library only, to show that the protocol is language-neutral.
"""
import argparse
import contextlib
import http.server
import json
import os
import re
import secrets
import shutil
import socketserver
import stat
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
HEX = re.compile(rb"^[0-9A-Fa-f]{1,16}$")


def log(msg):
    print("berth-storage-copy: " + msg, file=sys.stderr, flush=True)


class State:
    def __init__(self):
        self.home = None
        self.reflink = "auto"
        self.lock = threading.Lock()
        self.refs = {}  # layer -> count of Get without Put
        self.pending = {}  # layer being created -> its parent
        self.busy = {}  # layer -> count of long calls (copy, apply, diff) using it
        self.swept = set()  # homes whose leftovers this process has removed

    def init(self, req):
        home = req.get("Home")
        if not home or not os.path.isabs(home):
            raise ValueError("Init: Home must be an absolute path, not %r" % home)
        reflink = "auto"
        for opt in req.get("Opts") or []:
            key, _, value = str(opt).partition("=")
            if key.rpartition(".")[2] == "reflink" and value in ("auto", "always", "never"):  # copyfs.reflink=…
                reflink = value
            else:
                raise ValueError("unknown option %r (known: reflink=auto|always|never)" % opt)
        if req.get("UIDMaps") or req.get("GIDMaps"):
            raise ValueError("user namespace remapping (UIDMaps/GIDMaps) is not supported")
        for d in ("layers", "meta"):
            os.makedirs(os.path.join(home, d), mode=0o700, exist_ok=True)
        with self.lock:
            if self.home != home:
                self.refs = {}
            self.home, self.reflink = home, reflink
            sweep = home not in self.swept
            self.swept.add(home)
        if sweep:  # temp and trash dirs a crash left behind, and metadata without a layer
            for name in os.listdir(self.dir("layers")):
                if name.startswith((".tmp-", ".trash-")):
                    shutil.rmtree(os.path.join(self.dir("layers"), name), ignore_errors=True)
            for name in os.listdir(self.dir("meta")):
                path = os.path.join(self.dir("meta"), name)
                if name.startswith(".") or (name.endswith(".json") and ID.match(name[:-5])
                                            and not os.path.isdir(self.layer(name[:-5]))):
                    os.unlink(path)
        return {}

    def dir(self, sub):
        if self.home is None:
            raise ValueError("not initialised")
        return os.path.join(self.home, sub)

    def layer(self, ident):
        if not ID.match(ident or ""):
            raise ValueError("invalid layer ID %r" % ident)
        return os.path.join(self.dir("layers"), ident)

    def existing(self, ident):
        path = self.layer(ident)
        if not os.path.isdir(path):
            raise ValueError("no such layer: %s" % ident)
        return path

    def meta_path(self, ident):
        self.layer(ident)
        return os.path.join(self.dir("meta"), ident + ".json")

    def children(self, ident):
        """Layers (made or being made) whose parent is `ident`. Call with the lock held."""
        kids = [c for c, p in self.pending.items() if p == ident]
        meta = self.dir("meta")
        for name in os.listdir(meta):
            if name.endswith(".json") and not name.startswith("."):
                try:
                    with open(os.path.join(meta, name)) as f:
                        if json.load(f).get("parent") == ident:
                            kids.append(name[:-5])
                except (OSError, ValueError):
                    pass
        return kids

    @contextlib.contextmanager
    def using(self, *idents):
        """Checks that the layers `idents` ("" is none) exist and keeps Remove away from them while a long call
        (a copy, an apply, a diff) works on them; yields their directories."""
        idents = [i for i in idents if i]
        with self.lock:
            paths = [self.existing(i) for i in idents]
            for i in idents:
                self.busy[i] = self.busy.get(i, 0) + 1
        try:
            yield paths
        finally:
            with self.lock:
                for i in idents:
                    self.busy[i] -= 1
                    if not self.busy[i]:
                        del self.busy[i]


# ---------------------------------------------------------------------------------------------------------------
# Applying a layer tar


class Refused(ValueError):
    pass


def split_name(name, what="entry"):
    """The components of a tar name relative to the layer root; refuses absolute names and `..`."""
    if name.startswith("/"):
        raise Refused("%s %r: absolute paths are refused" % (what, name))
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Refused("%s %r: '..' is refused" % (what, name))
    return parts


def walk_parents(root, parts, create):
    """The host path of the directory holding `parts[-1]`, checking that every component above it is a real
    directory inside `root` (not a symlink: nothing may lead out of the layer). Missing ones are made (0755)
    when `create`, else None is returned."""
    cur = root
    for i, comp in enumerate(parts[:-1]):
        cur = os.path.join(cur, comp)
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            if not create:
                return None
            os.mkdir(cur, 0o755)
            os.chmod(cur, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("entry %s: its parent %s is %s" % (
                "/".join(parts), "/".join(parts[: i + 1]),
                "a symlink (it could lead out of the layer)" if stat.S_ISLNK(st.st_mode) else "not a directory"))
    return cur


def remove_path(path):
    """Removes whatever is at `path` without following a symlink there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def set_xattrs(path, member):
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            try:
                os.setxattr(path, key[13:], value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as e:
                log("%s: xattr %s not set: %s" % (member.name, key[13:], e))


def apply_tar(root, stream):
    """Applies the (optionally compressed) layer tar read from `stream` to the directory `root`, in place.
    Returns the bytes of regular files it held."""
    size = 0
    written = set()  # paths this tar has made so far (an opaque marker keeps them)
    dirs = []  # (parts, mtime) set last: files made inside a directory change its mtime
    try:
        tar = tarfile.open(fileobj=stream, mode="r|*")
    except tarfile.ReadError:
        if stream.consumed == 0:
            return 0  # an empty body is an empty layer
        raise
    with tar:
        for m in tar:
            parts = split_name(m.name)
            if not parts:
                if m.isdir():
                    continue  # the root itself ("./")
                raise Refused("entry %r: not a directory but names the layer root" % m.name)
            base = parts[-1]
            if base == OPAQUE:
                opaque(root, parts[:-1], written)
                continue
            if base.startswith(WHITEOUT):
                name = base[len(WHITEOUT):]
                if name.startswith(WHITEOUT):
                    continue  # other aufs metadata (.wh..wh.plnk, ...): not a whiteout
                if name in ("", ".", ".."):
                    raise Refused("whiteout %r names no file" % m.name)
                parent = walk_parents(root, parts, create=False)
                if parent is not None:  # else there is nothing to hide
                    remove_path(os.path.join(parent, name))
                continue

            parent = walk_parents(root, parts, create=True)
            path = os.path.join(parent, base)
            rel = "/".join(parts)
            if m.islnk():  # the target must be a file inside the layer, checked before anything is replaced
                tparts = split_name(m.linkname, "hardlink target")
                tparent = walk_parents(root, tparts, create=False) if tparts else None
                target = os.path.join(tparent, tparts[-1]) if tparent else None
                try:
                    tst = os.lstat(target) if target and target != path else None
                except FileNotFoundError:
                    tst = None
                if tst is None or stat.S_ISDIR(tst.st_mode):
                    raise Refused("hardlink %r: target %r is not a file in the layer" % (m.name, m.linkname))

            try:
                st = os.lstat(path)
            except FileNotFoundError:
                st = None
            if st is not None and not (m.isdir() and stat.S_ISDIR(st.st_mode)):
                remove_path(path)  # never write through what was there (a symlink above all)
                st = None
            mode = m.mode & 0o7777
            if m.isdir():
                if st is None:
                    os.mkdir(path, 0o700)
                os.chown(path, m.uid, m.gid, follow_symlinks=False)
                os.chmod(path, mode)
                dirs.append((parts, m.mtime))
            elif m.isreg():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    src = tar.extractfile(m)
                    shutil.copyfileobj(src, out, 1 << 20)
                    os.fchown(fd, m.uid, m.gid)
                    os.fchmod(fd, mode)  # after chown, which clears setuid
                size += m.size
            elif m.issym():
                os.symlink(m.linkname, path)
                os.chown(path, m.uid, m.gid, follow_symlinks=False)
            elif m.islnk():
                os.link(target, path, follow_symlinks=False)  # a link to a symlink, never to what it names
                written.add(rel)
                continue  # a hard link shares the target's owner, mode and times
            elif m.ischr() or m.isblk() or m.isfifo():
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
                os.mknod(path, kind | 0o600, os.makedev(m.devmajor, m.devminor) if not m.isfifo() else 0)
                os.chown(path, m.uid, m.gid, follow_symlinks=False)
                os.chmod(path, mode)
            else:
                log("skipped %r: tar entry type %r" % (m.name, m.type))
                continue
            set_xattrs(path, m)
            if not m.isdir():
                ns = int(m.mtime * 1_000_000_000)
                os.utime(path, ns=(ns, ns), follow_symlinks=False)
            written.add(rel)

    for parts, mtime in reversed(dirs):
        parent = walk_parents(root, parts, create=False)  # a later entry may have replaced a parent
        if parent is not None and os.path.isdir(os.path.join(parent, parts[-1])):
            ns = int(mtime * 1_000_000_000)
            os.utime(os.path.join(parent, parts[-1]), ns=(ns, ns), follow_symlinks=False)
    return size


def opaque(root, parts, written):
    """An opaque marker in directory `parts`: removes what lower layers had there, keeping what this tar wrote."""
    if not parts:
        prefix, path = "", root
    else:
        parent = walk_parents(root, parts, create=True)
        path = os.path.join(parent, parts[-1])
        written.add("/".join(parts))
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
            os.chmod(path, 0o755)
            return
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("opaque marker in %s, which is not a directory" % "/".join(parts))
        prefix = "/".join(parts) + "/"

    def clear(host, rel_prefix):
        for name in os.listdir(host):
            rel = rel_prefix + name
            child = os.path.join(host, name)
            if rel not in written:
                remove_path(child)
            elif os.path.isdir(child) and not os.path.islink(child):
                clear(child, rel + "/")

    clear(path, prefix)


# ---------------------------------------------------------------------------------------------------------------
# Comparing two layers


def signature(path, st):
    if stat.S_ISDIR(st.st_mode):  # as Docker: a directory's size and mtime are no measure of change
        return (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
    return (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, link,
            st.st_rdev)


def compare(new_root, old_root):
    """The changes of tree `new_root` against `old_root` (None: an empty tree) as [(rel, kind, lstat or None)],
    kind 0 modified, 1 added, 2 deleted. Parents come before children; a directory holding changes is listed as
    modified (as Docker does, so that a diff restores its permissions); a deleted directory is one entry."""
    out = []

    def entries(d):
        if d is None:
            return {}
        return {n: os.lstat(os.path.join(d, n)) for n in os.listdir(d)}

    def walk(rel, new_dir, old_dir):
        new, old = entries(new_dir), entries(old_dir)
        for name in sorted(set(new) | set(old)):
            child = rel + "/" + name
            if name not in new:
                out.append((child, 2, None))
                continue
            npath, nst = os.path.join(new_dir, name), new[name]
            ndir = stat.S_ISDIR(nst.st_mode)
            if name not in old:
                out.append((child, 1, nst))
                if ndir:
                    walk(child, npath, None)
                continue
            opath, ost = os.path.join(old_dir, name), old[name]
            odir = stat.S_ISDIR(ost.st_mode)
            if ndir and odir:
                mark = len(out)
                changed = signature(npath, nst) != signature(opath, ost)
                if changed:
                    out.append((child, 0, nst))
                walk(child, npath, opath)
                if not changed and len(out) > mark:
                    out.insert(mark, (child, 0, nst))
            elif signature(npath, nst) != signature(opath, ost):
                out.append((child, 0, nst))
                if ndir:  # was a file, is a directory: all it holds is new
                    walk(child, npath, None)

    walk("", new_root, old_root)
    return out


# ---------------------------------------------------------------------------------------------------------------
# HTTP plumbing: request bodies (Content-Length or chunked) and a chunked reply


class LengthReader:
    def __init__(self, f, length):
        self.f, self.left, self.consumed = f, length, 0

    def read(self, n=-1):
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n)
        if not data:
            raise EOFError("request body ended early")
        self.left -= len(data)
        self.consumed += len(data)
        return data


class ChunkedReader:
    """A request body sent with `Transfer-Encoding: chunked` (BaseHTTPRequestHandler leaves it encoded)."""

    def __init__(self, f):
        self.f, self.left, self.done, self.consumed, self.broken = f, 0, False, 0, None

    def read(self, n=-1):
        if self.broken:  # once out of step, never guess where the next chunk starts
            raise self.broken
        try:
            return self._read(n)
        except (EOFError, ValueError) as e:
            self.broken = e
            raise

    def _read(self, n):
        if n is None or n < 0:
            parts = []
            while True:
                data = self._read(1 << 20)
                if not data:
                    return b"".join(parts)
                parts.append(data)
        while not self.done and self.left == 0:
            line = self.f.readline(1024)
            if not line.endswith(b"\n"):
                raise EOFError("request body ended early (chunk size)")
            size = line.split(b";")[0].strip()
            if not HEX.match(size):
                raise ValueError("malformed chunked body: chunk size %r" % line)
            self.left = int(size, 16)
            if self.left == 0:
                self.done = True
                while self.f.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
        if self.done or n == 0:
            return b""
        data = self.f.read(min(n, self.left))  # a short read is fine: tarfile asks again
        if not data:
            raise EOFError("request body ended early")
        self.left -= len(data)
        self.consumed += len(data)
        if self.left == 0 and self.f.read(2) != b"\r\n":
            raise ValueError("malformed chunked body: no CRLF after a chunk")
        return data


class ChunkedWriter:
    def __init__(self, f):
        self.f = f

    def write(self, data):
        if data:
            self.f.write(b"%x\r\n%s\r\n" % (len(data), data))
        return len(data)

    def finish(self):
        self.f.write(b"0\r\n\r\n")
        self.f.flush()


def drain(body):
    while body.read(1 << 20):
        pass


# ---------------------------------------------------------------------------------------------------------------
# The calls


def handlers(state):
    def activate(_):
        return {"Implements": ["GraphDriver"]}

    def create(req):
        ident, parent = req.get("ID"), req.get("Parent") or ""
        path = state.layer(ident)
        if req.get("StorageOpt"):
            raise ValueError("storage options are not supported: %s" % ", ".join(sorted(req["StorageOpt"])))
        with state.lock:
            if os.path.lexists(path) or ident in state.pending:
                raise ValueError("layer %s already exists" % ident)
            if parent == ident:
                raise ValueError("layer %s cannot be its own parent" % ident)
            if parent:
                state.existing(parent)
            state.pending[ident] = parent
        tmp = os.path.join(state.dir("layers"), ".tmp-%s-%s" % (ident, secrets.token_hex(4)))
        meta_tmp = os.path.join(state.dir("meta"), ".%s-%s.tmp" % (ident, secrets.token_hex(4)))
        try:
            with state.using(parent) as ppaths:
                if ppaths:  # built under a temporary name: a failure leaves no layer behind
                    r = subprocess.run(["cp", "-a", "--reflink=" + state.reflink, ppaths[0] + "/.", tmp],
                                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
                    if r.returncode != 0:
                        raise OSError("copying layer %s: %s" % (parent, r.stderr.strip() or "cp failed"))
                else:
                    os.mkdir(tmp, 0o755)
                    os.chmod(tmp, 0o755)
            with open(meta_tmp, "w") as f:
                json.dump({"parent": parent}, f)
            os.rename(tmp, path)
            try:
                os.rename(meta_tmp, state.meta_path(ident))
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if os.path.exists(meta_tmp):
                os.unlink(meta_tmp)
            raise
        finally:
            with state.lock:
                state.pending.pop(ident, None)
        return {}

    def remove(req):
        ident = req.get("ID")
        with state.lock:
            path = state.existing(ident)
            kids = state.children(ident)
            if kids:
                raise ValueError("layer %s is the parent of %s" % (ident, ", ".join(sorted(kids))))
            if state.busy.get(ident):
                raise ValueError("layer %s is in use by another call" % ident)
            trash = os.path.join(state.dir("layers"), ".trash-%s-%s" % (ident, secrets.token_hex(4)))
            os.rename(path, trash)
            try:
                os.unlink(state.meta_path(ident))
            except FileNotFoundError:
                pass
            state.refs.pop(ident, None)
        try:
            shutil.rmtree(trash)
        except OSError as e:  # the layer is gone all the same; the next start sweeps the rest
            log("removing %s: %s" % (trash, e))
        return {}

    def get(req):
        ident = req.get("ID")
        with state.lock:
            path = state.existing(ident)
            state.refs[ident] = state.refs.get(ident, 0) + 1
        return {"Dir": path}

    def put(req):
        ident = req.get("ID")
        state.layer(ident)
        with state.lock:
            if state.refs.get(ident, 0) > 1:
                state.refs[ident] -= 1
            else:
                state.refs.pop(ident, None)
        return {}

    def exists(req):
        return {"Exists": os.path.isdir(state.layer(req.get("ID")))}

    def status(_):
        layers = state.dir("layers")
        n = sum(1 for name in os.listdir(layers) if ID.match(name) and os.path.isdir(os.path.join(layers, name)))
        return {"Status": [["Home", state.home], ["Layers", str(n)]]}

    def get_metadata(req):
        return {"Metadata": {"Dir": state.existing(req.get("ID"))}}

    def cleanup(_):
        state.dir("layers")
        return {}

    def capabilities(_):
        state.dir("layers")
        return {"Capabilities": {"ReproducesExactDiffs": False}}

    def changes(req):
        with compared(state, req) as (_, found):
            return {"Changes": [{"Path": rel, "Kind": kind} for rel, kind, _ in found]}

    def diff_size(req):
        with compared(state, req) as (_, found):
            files = {(st.st_dev, st.st_ino): st.st_size for _, kind, st in found
                     if kind != 2 and stat.S_ISREG(st.st_mode)}
            return {"Size": sum(files.values())}  # hard links counted once

    return {
        "/Plugin.Activate": activate, "/GraphDriver.Init": state.init, "/GraphDriver.Create": create,
        "/GraphDriver.CreateReadWrite": create, "/GraphDriver.Remove": remove, "/GraphDriver.Get": get,
        "/GraphDriver.Put": put, "/GraphDriver.Exists": exists, "/GraphDriver.Status": status,
        "/GraphDriver.GetMetadata": get_metadata, "/GraphDriver.Cleanup": cleanup,
        "/GraphDriver.Capabilities": capabilities, "/GraphDriver.Changes": changes, "/GraphDriver.DiffSize": diff_size,
    }


@contextlib.contextmanager
def compared(state, req):
    """The directory of layer ID and its changes against Parent (none: an empty tree), both layers kept from
    Remove meanwhile."""
    ident, parent = req.get("ID"), req.get("Parent") or ""
    state.layer(ident)
    with state.using(ident, parent) as paths:
        yield paths[0], compare(paths[0], paths[1] if parent else None)


def write_diff(tar, root, found):
    """Writes the changes `found` of the layer at `root` to `tar`: files as entries, deletions as whiteouts."""
    now = int(time.time())
    for rel, kind, _ in found:
        name = rel[1:]
        if kind == 2:
            head, _, base = name.rpartition("/")
            ti = tarfile.TarInfo((head + "/" if head else "") + WHITEOUT + base)
            ti.mtime, ti.mode = now, 0o644
            tar.addfile(ti)
            continue
        path = os.path.join(root, name)
        ti = tar.gettarinfo(path, arcname=name)
        if ti is None:
            continue  # a socket: tar has no type for it
        ti.uname = ti.gname = ""  # the host's names mean nothing in the container
        ti.mtime = int(ti.mtime)  # whole seconds, as Docker's diffs
        try:
            for key in os.listxattr(path, follow_symlinks=False):
                value = os.getxattr(path, key, follow_symlinks=False)
                ti.pax_headers["SCHILY.xattr." + key] = value.decode("utf-8", "surrogateescape")
        except OSError:
            pass
        if ti.isreg():
            with open(path, "rb") as f:
                tar.addfile(ti, f)
        else:
            tar.addfile(ti)


def server(socket_path, state):
    routes = handlers(state)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            started = time.monotonic()
            url = urllib.parse.urlsplit(self.path)
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = ChunkedReader(self.rfile)
            else:
                body = LengthReader(self.rfile, int(self.headers.get("Content-Length") or 0))
            what, outcome = url.path, "ok"
            try:
                if url.path == "/GraphDriver.ApplyDiff":
                    query = urllib.parse.parse_qs(url.query)
                    ident, parent = query.get("id", [""])[0], query.get("parent", [""])[0]
                    what += " id=%s parent=%s" % (ident, parent)
                    result = None
                    try:
                        result = self.apply_diff(body, ident, parent)
                    finally:
                        try:
                            drain(body)  # what tar left unread (padding, or all after a refused entry)
                        except Exception:  # a broken body: the connection cannot carry another request
                            self.close_connection = True
                            if result is not None:
                                raise  # and what was applied may be incomplete
                    outcome = "ok, %d bytes of files" % result["Size"]
                    return self.reply(200, result)
                raw = body.read()
                route = routes.get(url.path)
                if route is None and url.path != "/GraphDriver.Diff":  # Diff answers a tar, not JSON
                    outcome = "unknown call"
                    return self.reply(404, {"Err": "unknown call %s" % url.path})
                req = json.loads(raw) if raw.strip() else {}
                if not isinstance(req, dict):
                    raise ValueError("the request body is not a JSON object")
                what += "".join(" %s=%s" % (k, req[k]) for k in ("Home", "ID", "Parent") if req.get(k))
                if url.path == "/GraphDriver.Diff":
                    outcome = self.diff(req)
                else:
                    self.reply(200, route(req))
            except Exception as e:  # every failure goes back as the protocol's {"Err"}
                outcome = "Err: %s" % e
                self.reply(500, {"Err": str(e)})
            finally:
                log("%s -> %s (%.0f ms)" % (what, outcome, (time.monotonic() - started) * 1000))

        def apply_diff(self, body, ident, parent):
            state.layer(ident)
            if parent:  # the copy already holds the parent's files: only checked
                state.layer(parent)
            with state.using(ident) as (path,):
                return {"Size": apply_tar(path, body)}

        def diff(self, req):
            with compared(state, req) as (root, found):  # errors up to here still go back as {"Err"}
                self.send_response(200)
                self.send_header("Content-Type", "application/x-tar")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                out = ChunkedWriter(self.wfile)
                try:
                    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                        write_diff(tar, root, found)
                    out.finish()
                except Exception as e:
                    # Too late for {"Err"}: a reply cut short (no last chunk) tells the client it failed.
                    self.close_connection = True
                    return "Err (stream cut): %s" % e
            return "ok, %d changes" % len(found)

        def reply(self, status, body):
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the caller hung up
                self.close_connection = True

        def address_string(self):
            return "unix"

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    if os.path.exists(socket_path):
        os.unlink(socket_path)
    os.makedirs(os.path.dirname(socket_path), exist_ok=True)
    return Server(socket_path, Handler)


def main():
    parser = argparse.ArgumentParser(description="Berth storage driver plugin: layers as full copies.")
    parser.add_argument("--socket", default="/run/berth/plugins/copyfs.sock")
    args = parser.parse_args()
    state = State()
    srv = server(args.socket, state)
    log("serving on %s (home set by /GraphDriver.Init)" % args.socket)
    try:
        srv.serve_forever()
    finally:
        os.unlink(args.socket)


if __name__ == "__main__":
    sys.exit(main())
