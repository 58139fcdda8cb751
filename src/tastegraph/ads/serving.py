"""What one server process keeps for serving Promoted Pins: the token signer, the pacing controller's
states, the delivery counters' sums and the pCTR model. Built by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tastegraph.ads.ctr_holder import CtrHolder
from tastegraph.ads.delivery import Pacer
from tastegraph.ads.delivery_stats import DeliveryTally
from tastegraph.ads.tokens import TokenSigner


@dataclass
class AdServing:
    signer: TokenSigner
    pacer: Pacer
    tally: DeliveryTally
    ctr: CtrHolder

    @classmethod
    def make(cls, secret_key: str, model_dir: Path) -> AdServing:
        return cls(TokenSigner(secret_key), Pacer(), DeliveryTally(), CtrHolder(model_dir))
