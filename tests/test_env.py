"""Environment variables: one prefix (LJ_), old PROJECT_ spellings still honoured."""

from __future__ import annotations

from project.env import setting


def test_lj_prefix_wins_and_old_spelling_still_works(monkeypatch):
    monkeypatch.delenv("LJ_MD_STALL_S", raising=False)
    monkeypatch.delenv("PROJECT_MD_STALL_S", raising=False)
    assert setting("MD_STALL_S", "600") == "600"
    monkeypatch.setenv("PROJECT_MD_STALL_S", "7")
    assert setting("MD_STALL_S", "600") == "7"
    monkeypatch.setenv("LJ_MD_STALL_S", "5")
    assert setting("MD_STALL_S", "600") == "5"
