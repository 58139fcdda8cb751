"""Property test: several people on several shared browsers sign in, sign out, visit sites with the save
button, buy on a shop with the tag, and delete their accounts, in any order. After every step each
person's export holds exactly what the documented rule makes theirs: what they did while signed in, what
their browser reported while tied to them, and what a browser reported tied to nobody before they were
the first to sign in on it. So an export never contains another person's row and an erasure never
removes one."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastegraph.bootstrap import build
from tastegraph.db.schema import full_metadata
from tastegraph.kernel import FrozenClock
from tastegraph.server import compose
from tests.conftest import START, make_settings
from tests.helpers import sign_in
from tests.integration.ads_support import ad_account

PEOPLE, BROWSERS = 3, 2
PASSWORD = "correct horse"
P = st.integers(min_value=0, max_value=PEOPLE - 1)
B = st.integers(min_value=0, max_value=BROWSERS - 1)
actions = st.one_of(
    st.tuples(st.just("sign_in"), P, B),
    st.tuples(st.just("sign_out"), B),
    st.tuples(st.just("visit"), B),
    st.tuples(st.just("buy"), B),
    st.tuples(st.just("delete"), B),
)


@dataclass
class Model:
    """Whose each row is, by the rule in docs/privacy.md, kept apart from the service."""

    signed_in: list[int | None] = field(default_factory=lambda: [None] * BROWSERS)
    label: list[int | None] = field(default_factory=lambda: [None] * BROWSERS)  # the browser id, as a label
    tie: dict[int, int] = field(default_factory=dict)  # label -> person, while tied
    used: set[int] = field(default_factory=set)  # labels that were ever tied (never tied again)
    pending: dict[int, list[str]] = field(default_factory=dict)  # label -> rows tied to nobody yet
    owned: dict[int, set[str]] = field(default_factory=lambda: {p: set() for p in range(PEOPLE)})
    deleted: set[int] = field(default_factory=set)
    labels: count[int] = field(default_factory=count)

    def owner(self, b: int) -> int | None:
        label = self.label[b]
        return self.signed_in[b] if self.signed_in[b] is not None else self.tie.get(label) if label else None

    def record(self, b: int, marker: str, *, issues_label: bool) -> None:
        if self.label[b] is None and issues_label and self.signed_in[b] is None:
            self.label[b] = next(self.labels) + 1
        who = self.owner(b)
        if who is not None:
            self.owned[who].add(marker)
        elif self.label[b] is not None:
            self.pending.setdefault(self.label[b], []).append(marker)  # type: ignore[arg-type]

    def sign_in(self, p: int, b: int) -> None:
        label = self.label[b]
        if label is not None and self.tie.get(label) == p:
            pass
        elif label is not None and label in self.used:
            self.tie.pop(label, None)  # untied from whoever had it; this person gets a new id
            self.label[b] = self._tie(next(self.labels) + 1, p)
        else:
            label = label if label is not None else next(self.labels) + 1
            self.label[b] = self._tie(label, p)
            self.owned[p].update(self.pending.pop(label, []))
        self.signed_in[b] = p

    def _tie(self, label: int, p: int) -> int:
        self.tie[label] = p
        self.used.add(label)
        return label

    def sign_out(self, b: int) -> None:
        label = self.label[b]
        if label is not None:
            self.tie.pop(label, None)
        self.signed_in[b] = None
        self.label[b] = None

    def delete(self, p: int) -> None:
        self.deleted.add(p)
        self.owned[p] = set()
        for label in [k for k, v in self.tie.items() if v == p]:
            del self.tie[label]  # the link row is erased: the id is unknown again
            self.used.discard(label)
        for b in range(BROWSERS):
            if self.signed_in[b] == p:
                self.signed_in[b] = None


def _markers(export: dict[str, object]) -> set[str]:
    visits = export["offsite_visits"]
    events = export["advertiser_events"]
    assert isinstance(visits, list) and isinstance(events, list)
    return {v["url"].rsplit("/", 1)[1] for v in visits} | {e["order_id"] for e in events}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=14))
def test_exports_and_erasures_follow_whose_data_it_is(steps: list[tuple[object, ...]]) -> None:
    system = build(make_settings("sqlite://"), clock=FrozenClock(START))
    full_metadata().create_all(system.engine)
    app = compose(system, run_sweeper=False)
    try:
        shop = ad_account(system, "Camping shop")
        browsers = [TestClient(app, base_url="http://127.0.0.1:8000") for _ in range(BROWSERS)]
        uid = []
        for p in range(PEOPLE):
            r = browsers[0].post("/v1/users", json={"email": f"p{p}@example.com", "password": PASSWORD})
            uid.append(int(r.json()["id"]))
        model = Model()
        for n, step in enumerate(steps):
            kind, *args = step
            b = int(args[-1])  # type: ignore[call-overload]
            client = browsers[b]
            if kind == "sign_in":
                p = int(args[0])  # type: ignore[call-overload]
                if p in model.deleted:
                    continue
                sign_in(client, f"p{p}@example.com", PASSWORD)
                model.sign_in(p, b)
            elif kind == "sign_out":
                assert client.delete("/v1/sessions").status_code == 204
                model.sign_out(b)
            elif kind == "visit":
                url = f"https://site{n}.example/v{n}"
                origin = url.rsplit("/", 1)[0]
                r = client.post("/v1/offsite/visits", json={"url": url}, headers={"Origin": origin})
                assert r.status_code == 201, r.text
                model.record(b, f"v{n}", issues_label=True)
            elif kind == "buy":
                params = {"event": "checkout", "order_id": f"o{n}"}
                r = client.get(f"/v1/tag/{shop.tag_id}/event", params=params)
                assert r.status_code == 200, r.text
                model.record(b, f"o{n}", issues_label=False)
            elif kind == "delete":
                who = model.signed_in[b]
                r = client.delete("/v1/me")
                assert r.status_code == (204 if who is not None else 401), r.text
                if who is not None:
                    model.delete(who)
                    model.label[b] = None  # deleting the account forgets this browser's id
            with system.read() as conn:
                for p in range(PEOPLE):
                    if p not in model.deleted:
                        got = _markers(system.privacy.export(conn, uid[p]))
                        assert got == model.owned[p], (step, p, model)
    finally:
        system.dispose()
