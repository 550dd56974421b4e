"""agem: Averaged Gradient Episodic Memory (Chaudhry et al. 2019) through Avalanche's AGEMPlugin.

A random `patterns_per_experience` utterances of each experience are kept. Before every step the
gradient of the loss on a memory sample (`sample_size` utterances, balanced over experiences) is
computed; if the current gradient points against it (negative dot product), the current gradient
is projected onto the plane orthogonal to it.

Used unchanged: the plugin's memory forward is `criterion(model(x), y)` (the batch contract keeps
padding inside x, and the criterion decodes y with teacher forcing), and its memory loader
collates with the dataset's own collate (`MultiDatasetDataLoader` takes `datasets[0].collate_fn`
and collates each mixed batch once), so memory batches are padded like training batches. The
projection acts on the gradient before the template's norm clipping.
"""
from dataclasses import dataclass, field

from avalanche.benchmarks.utils.data_loader import GroupBalancedInfiniteDataLoader
from avalanche.training.plugins import AGEMPlugin

from benchmark.streams import dataset_from_items
from strategies import StrategyContext, StrategyParts, register_strategy


@dataclass
class AGEMConfig:
    patterns_per_experience: int = field(default=200, metadata={
        "help": "utterances kept in memory per experience"})
    sample_size: int = field(default=16, metadata={
        "help": "memory utterances per reference gradient (split evenly over experiences)"})


@register_strategy("agem", "averaged gradient episodic memory (Avalanche AGEMPlugin)",
                   AGEMConfig)
def build(cfg: AGEMConfig, ctx: StrategyContext) -> StrategyParts:
    plugin = AGEMPlugin(patterns_per_experience=cfg.patterns_per_experience,
                        sample_size=cfg.sample_size)

    def extra_state() -> dict:
        # the memory (utterances, and their audio in seconds: 100 fbank frames per second) and
        # the reference gradient, one float per parameter
        utts = sum(len(b) for b in plugin.buffers)
        frames = sum(b[i][0].shape[0] for b in plugin.buffers for i in range(len(b)))
        ref = plugin.reference_gradients
        return {"agem": {"utterances": utts, "seconds": frames / 100.0,
                         "bytes": ref.numel() * ref.element_size()}}

    def checkpoint() -> dict:
        # each experience's memory, utterance by utterance (the reference gradient is recomputed
        # before every step, so it is not state)
        return {"buffers": [{"feats": [b[i][0] for i in range(len(b))],
                             "y": [b[i][1] for i in range(len(b))],
                             "task": [int(b[i][2]) for i in range(len(b))],
                             "targets": [int(t) for t in b.targets]} for b in plugin.buffers]}

    def restore(sd: dict) -> None:
        plugin.buffers = [dataset_from_items(b["feats"], b["y"], b["task"], b["targets"])
                          for b in sd["buffers"]]
        if plugin.buffers:  # as the plugin's update_memory leaves it; the iterator is lazy, so
            # its samplers draw from the restored RNG at the first step, as they would have
            plugin.buffer_dataloader = GroupBalancedInfiniteDataLoader(
                plugin.buffers, batch_size=plugin.sample_size // len(plugin.buffers),
                num_workers=0, pin_memory=False, persistent_workers=False)
            plugin.buffer_dliter = iter(plugin.buffer_dataloader)

    return StrategyParts(plugins=[plugin], extra_state=extra_state, checkpoint=checkpoint,
                         restore=restore, resumable=True)
