"""The ``excel`` connector: a watched folder of the channel's own xlsx files.

For a marketplace without an API (or before one is set up) the channel's order files are
dropped into a folder; 주문수집 imports each new ``*.xlsx`` there through the order import
(the channel's column layout, kind "import") and moves it to ``done/`` — or to ``failed/``,
with the reason in the run's detail. Claim files go to ``claims/`` and are applied with the
channel's cancel layout by 클레임 동기화, like the cancel upload. The import is one
transaction per file and skips order numbers already known, so a crash between the import
and the move never imports a file twice.

The adapter only finds and moves files; reading them is the import's and the cancel
upload's own code (``engine.connectors`` calls it).
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from engine.connectors.base import Connector, ConnectorError, register
from engine.schema import Field
from engine.text import N_

DONE, FAILED, CLAIMS = "done", "failed", "claims"


@register
class ExcelFolderConnector(Connector):
    type = "excel"
    label = N_("Excel files in a watched folder")
    setting_fields = [Field("folder", N_("Watched folder (on the server)"), required=True,
                            max_length=500, placeholder="/srv/ruledesk/inbox/11st")]
    reads_files = True

    def _folder(self, *parts: str) -> Path:
        folder = Path(self.settings.get("folder") or "")
        if not str(folder) or not folder.is_absolute():
            raise ConnectorError(N_("%(channel)s: the watched folder must be an absolute path."),
                                 channel=self.channel_name)
        if not folder.is_dir():
            raise ConnectorError(N_("%(channel)s: the watched folder %(folder)s does not exist."),
                                 channel=self.channel_name, folder=str(folder))
        return folder.joinpath(*parts)

    @staticmethod
    def _xlsx(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and p.suffix.lower() == ".xlsx" and not p.name.startswith(("~$", ".")))

    def order_files(self) -> list[Path]:
        """The order files waiting in the folder, oldest name first."""
        return self._xlsx(self._folder())

    def claim_files(self) -> list[Path]:
        return self._xlsx(self._folder(CLAIMS))

    def finish(self, path: Path, ok: bool, now: dt.datetime) -> Path:
        """Move a handled file to ``done/`` (or ``failed/``) beside it; never overwrite."""
        target_dir = path.parent / (DONE if ok else FAILED)
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            target = target_dir / f"{path.stem}-{now:%Y%m%d%H%M%S}{path.suffix}"
        shutil.move(str(path), target)
        return target
