"""Other harnesses' published outputs -> evalkit runs: read as they were written, matched to the pinned problems,
verified again, and set beside the source's own answers, verdicts and reported score.

Public API: `import_outputs(paths, dataset, ...)`; formats in `FORMATS`.
"""

from evalkit.importers.detect import FORMATS
from evalkit.importers.run import ImportSummary, SkippedRun, import_outputs

__all__ = ["FORMATS", "ImportSummary", "SkippedRun", "import_outputs"]
