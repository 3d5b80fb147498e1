# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's (and debug_bundle's) safe file opening: regular files only, no symlink swapped in, never
outside the directory a path or glob names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import glob
import os
import stat

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def open_regular(path, buffering=0):
    """Open ``path`` for reading, unbuffered, only if it is a regular file.

    O_NONBLOCK keeps a FIFO from blocking the open (it has no effect on a regular file) and O_NOFOLLOW
    refuses a symlink swapped in after the caller resolved the path; the type is checked on the open
    descriptor, so /dev/zero, a FIFO or a socket raise OSError(EINVAL, "not a regular file ...").
    """
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (%s)" % file_kind(st.st_mode), path)
        if _O_NONBLOCK:
            import fcntl  # noqa: PLC0415 - POSIX only, like the rest of the readers
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symlink")):
        if test(mode):
            return name
    return "not a regular file"


def glob_root(spec):
    """The directory a path or glob may read under: its leading components without glob magic (for a plain
    path or a glob in the last component, its directory)."""
    parts = spec.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = os.sep.join(fixed)
    if not root:
        root = os.sep if spec.startswith(os.sep) else "."
    return root


def resolve_inside(path, root):
    """``(real_path, None)`` when ``path`` resolves inside ``root`` (both through every symlink), else
    ``(real_path, reason)``: a symlink whose target leaves the configured root is not read."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
        return real, None
    return real, "resolves outside %s (a symlink to %s): not read" % (base, real)
