"""The main job and its report: results, HTML/PDF in Chinese and English, the workbook."""
