"""apply_waves / delete_waves: dependency waves of kinds, stable within a wave, unknown kinds last."""

from dataclasses import dataclass

from app.domain.deploy_order import (
    APPLY_ORDER,
    UNKNOWN_WAVE,
    apply_waves,
    delete_waves,
    in_apply_order,
    wave_of,
)
from app.domain.kinds import KINDS


@dataclass(frozen=True)
class Obj:
    kind: str
    name: str


def kind_of(obj: Obj) -> str:
    return obj.kind


def names(waves: list[list[Obj]]) -> list[list[str]]:
    return [[o.name for o in wave] for wave in waves]


MIXED = [
    Obj("NetworkPolicy", "np"),
    Obj("Service", "svc"),
    Obj("Deployment", "web"),
    Obj("Widget", "custom"),
    Obj("HorizontalPodAutoscaler", "hpa"),
    Obj("Ingress", "ing"),
    Obj("CronJob", "cron"),
    Obj("PersistentVolumeClaim", "pvc"),
    Obj("Secret", "sec"),
    Obj("ConfigMap", "cfg"),
    Obj("Namespace", "ns"),
    Obj("StatefulSet", "db"),
]


def test_apply_waves_follow_the_dependency_order() -> None:
    assert names(apply_waves(MIXED, kind_of)) == [
        ["ns"],
        ["sec", "cfg"],
        ["pvc"],
        ["web", "cron", "db"],
        ["svc"],
        ["ing"],
        ["hpa"],
        ["np"],
        ["custom"],
    ]


def test_delete_waves_are_the_reverse() -> None:
    assert delete_waves(MIXED, kind_of) == list(reversed(apply_waves(MIXED, kind_of)))
    assert names(delete_waves(MIXED, kind_of))[-1] == ["ns"]
    assert names(delete_waves(MIXED, kind_of))[0] == ["custom"]


def test_a_service_comes_after_its_workload_and_config_before_it() -> None:
    order = [o.kind for o in in_apply_order(MIXED, kind_of)]
    assert order.index("Deployment") < order.index("Service") < order.index("Ingress")
    assert order.index("ConfigMap") < order.index("Deployment")
    assert order.index("PersistentVolumeClaim") < order.index("StatefulSet")
    assert order.index("HorizontalPodAutoscaler") > order.index("Deployment")


def test_empty_waves_are_left_out_and_order_within_a_wave_is_kept() -> None:
    objs = [Obj("Job", "b"), Obj("Deployment", "a"), Obj("Job", "c")]
    assert names(apply_waves(objs, kind_of)) == [["b", "a", "c"]]
    assert apply_waves([], kind_of) == []
    assert delete_waves([], kind_of) == []


def test_every_node_kind_has_a_wave_and_unknown_kinds_go_last() -> None:
    listed = [kind for wave in APPLY_ORDER for kind in wave]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(KINDS)
    assert all(wave_of(kind) < UNKNOWN_WAVE for kind in KINDS)
    assert wave_of("Certificate") == UNKNOWN_WAVE
    assert wave_of("deployment") == UNKNOWN_WAVE  # canonical kinds only


def test_works_with_any_item_type() -> None:
    kinds = ["Service", "Namespace", "Deployment"]
    assert apply_waves(kinds, str) == [["Namespace"], ["Deployment"], ["Service"]]
