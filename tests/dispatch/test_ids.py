"""Ids: their shape, their uniqueness across entropy pages, and after a fork."""

from __future__ import annotations

import os
import re

from dispatch.model import ids
from dispatch.model.ids import new_call_id, new_incident_id

_CALL = re.compile(r"^call-[0-9a-f]{28}$")


def test_ids_name_what_they_are_and_carry_time_then_randomness() -> None:
    call, incident = new_call_id(), new_incident_id()
    assert _CALL.match(call)
    assert re.match(r"^inc-[0-9a-f]{28}$", incident)
    assert call[5:17] <= new_call_id()[5:17]  # the millisecond prefix never goes back


def test_ids_stay_unique_across_many_entropy_pages() -> None:
    count = 5 * ids._Entropy.PAGE  # 40 pages of 8-byte draws
    drawn = {new_call_id()[17:] for _ in range(count)}
    assert len(drawn) == count


def test_a_page_is_used_up_before_the_next_is_drawn() -> None:
    entropy = ids._Entropy()
    first = [entropy.hex(8) for _ in range(ids._Entropy.PAGE // 8)]
    page = bytes.fromhex("".join(first))
    assert len(page) == ids._Entropy.PAGE
    assert entropy.hex(8) not in "".join(first)


def test_a_forked_child_does_not_repeat_the_parents_randomness() -> None:
    new_call_id()  # the parent now holds a partly used page
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next random part, then leave at once
        os.close(read)
        os.write(write, new_call_id()[17:].encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    assert len(child) == 16
    assert child != new_call_id()[17:]
