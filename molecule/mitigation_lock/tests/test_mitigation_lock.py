"""The lock files converge (and its idempotence run) left: the released project has no lock, the stale lock of
the dead run was broken and replaced by this play's, in a directory only its owner reads."""

import json

LOCKS = "/tmp/rxi-mitigation-lock/locks"


def test_the_lock_directory_is_private(host):
    locks = host.file(LOCKS)
    assert locks.is_directory
    assert locks.mode == 0o700


def test_a_released_lock_is_gone(host):
    assert not host.file(LOCKS + "/rxi-lock-free.lock").exists


def test_the_stale_lock_was_broken_and_retaken_by_this_play(host):
    lock = host.file(LOCKS + "/rxi-lock-stale.lock")
    assert lock.is_file
    holder = json.loads(lock.content_string)
    # not the dead run's lock any more (prepare wrote owner scale, token deadrun...) but converge's
    assert holder["owner"] == "memory_relief"
    assert holder["project"] == "rxi-lock-stale"
    assert holder["play"] == "Converge" and holder["host"] == "localhost"
    assert holder["token"] != "deadrundeadrundeadrun000"
    assert len(holder["token"]) == 24 and holder["token"].isalnum()


def test_one_lock_file_per_project_and_nothing_else(host):
    assert host.check_output("ls -A %s", LOCKS).split() == ["rxi-lock-stale.lock"]
