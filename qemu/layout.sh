# The test disk's layout, sourced by qemu/mkdisk.sh and the scenarios.
# Sectors of 512 bytes; GPT with fixed disk and partition GUIDs so that
# boot entries never change. Partition numbers: 1 esp, 2 root-a, 3 root-b,
# 4 data. SLOT_MIB and DATA_MIB may be set before (the Debian guest's
# slots are larger); the partitions' numbers and the ESP do not move.
DISK_GUID=5f1e0000-0000-4000-8000-000000000000
ESP_GUID=5f1e0000-0000-4000-8000-000000000001
ROOTA_GUID=5f1e0000-0000-4000-8000-000000000002
ROOTB_GUID=5f1e0000-0000-4000-8000-000000000003
DATA_GUID=5f1e0000-0000-4000-8000-000000000004
SLOT_MIB=${SLOT_MIB:-16}
ESP_START=2048
ESP_SECTORS=$((100 * 2048))
ROOTA_START=$((ESP_START + ESP_SECTORS))
ROOTB_START=$((ROOTA_START + SLOT_MIB * 2048))
DATA_START=$((ROOTB_START + SLOT_MIB * 2048))
DATA_MIB=${DATA_MIB:-80}
DISK_SECTORS=$((DATA_START + DATA_MIB * 2048 + 2048))
