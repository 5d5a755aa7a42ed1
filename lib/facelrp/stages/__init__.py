"""The pipeline's stages, one module each: ``stages.<name>.run(profile, ...)`` computes an
artifact, writes it with its record (`facelrp.artifacts.provenance`) where
`facelrp.artifacts.Results` says, and returns the record.

The Snakefile's rules call them through ``python -m facelrp <stage>``; the model notebook and
the tests call them directly. In pipeline order:

=================  ==========================================================
``faces``          the profile's face set (rendered or loaded from a folder)
``pretrain``       a stand-in trunk (render its corpus, train, fold, save)
``features``       the frozen part's features of every face, per trunk
``depth_probes``   linear probes of each trunk output, the readouts' yardstick
``model``          one of the 20 models: fine-tuning and its LRP maps
``masking``        every model's accuracy under every model's masks
``frozen_trunk``   the 20 models with the whole trunk frozen, their maps and masking
``method_maps``    every model's maps with another attribution method
``rank2``          rank-2 choices, trial list, observers' choices
``sanity``         cascading and data randomisation of one model's maps
``planted``        the planted-ground-truth control
``probe_faces``    the attribute-probing faces
``probe``          layer-wise PLS + VIP probing of one trunk
``gate_faces``     the gated networks' identification faces
``gates``          one gated network, trained, with its gates
``digest``         what the pages read of the big outputs, made small (the cache ships it)
=================  ==========================================================
"""

__all__ = ["StageError", "load_faces", "faces", "pretrain", "features", "depth_probes", "model", "masking",
           "frozen_trunk", "method_maps", "rank2", "sanity", "planted", "probe_faces", "probe", "gate_faces", "gates", "digest"]


class StageError(ValueError):
    """A stage's inputs do not fit together; the message names the file and the fix.
    ``python -m facelrp`` prints it as one line and exits with status 2."""


def load_faces(path, profile):
    """The face set at `path` for a stage of `profile`, refused (`StageError`, naming the
    file and the fix) when its record says another profile made it or its images are not
    the size the profile's trunks take."""
    from ..artifacts import Results
    from ..data.datasets import FaceDataset

    data = FaceDataset.load(path)
    made_for = data.provenance.get("profile")
    remake = (f"pass the {profile.name} profile's own ({Results(profile).faces}) or remake it with "
              f"`python -m facelrp render-faces --profile {profile.name}`")
    if made_for is not None and made_for != profile.name:
        raise StageError(f"{path}: a face set of profile {made_for!r}, not {profile.name!r}; {remake}")
    size = profile.trunks["spec"]["input_size"]
    if data.image_size != (size, size):
        raise StageError(f"{path}: {data.image_size[0]}-px faces, but profile {profile.name!r} takes {size} px; {remake}")
    return data
