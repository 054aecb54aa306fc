"""outcomes — do patients who come more often and more regularly get better pore and texture results?

The package map (one topical module each): ``records`` (load and validate), ``scales`` (measures),
``identifiers`` (direct-identifier rules), ``attendance`` (frequency, consistency, adherence),
``ratings`` (baseline, landmark, improvement), ``models`` (naive, adjusted, mixed), ``robustness``,
``plots``, ``synthetic`` (planted-truth demo clinic), ``privacy``, ``report``, ``cli``.
"""

from .errors import RecordsError
from .records import Records, from_frames, load_records
from .scales import Measure

__all__ = ["Measure", "Records", "RecordsError", "from_frames", "load_records"]
__version__ = "0.1.0"
