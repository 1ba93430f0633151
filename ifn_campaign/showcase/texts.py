"""The showcase's words, Indonesian first (the site's root) and English (under `en/`): the
templates read them as `t.<name>`, so a restyled template keeps both languages."""

from __future__ import annotations

__all__ = ["LANGUAGES", "TEXTS"]

LANGUAGES = ("id", "en")  # the first is the site's root, each other one a folder of its name

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "site": "Etalase Anggota IFN",
        "skip": "Langsung ke isi",
        "sections": "Bagian situs",
        "all": "Semua anggota",
        "fairness": "Sebaran tampilan",
        "other_language": "English",
        "other_language_name": "Read this page in English",
        "footer": (
            "Indonesia Footwear Network (IFN), dikelola oleh BPIPI, Kementerian Perindustrian. "
            "Anggota ditampilkan dengan persetujuan mereka; hanya data yang mereka izinkan yang "
            "terlihat di sini."
        ),
        "updated": "Diperbarui",
        "heading": "Anggota IFN yang telah ditampilkan",
        "lead": (
            "Pelaku usaha alas kaki Indonesia dalam Indonesia Footwear Network yang telah "
            "dipromosikan di Instagram, Facebook dan YouTube BPIPI: {count} anggota. Pilih "
            "anggota untuk melihat profil dan unggahannya."
        ),
        "group_lead": (
            "{count} anggota IFN di sini telah ditampilkan di Instagram, Facebook atau YouTube "
            "BPIPI."
        ),
        "province": "Provinsi",
        "category": "Kategori",
        "all_provinces": "Semua provinsi",
        "all_categories": "Semua kategori",
        "shown_of": "{shown} dari {total} anggota",
        "none_match": "Tidak ada anggota yang cocok dengan pilihan ini.",
        "none_yet": "Belum ada anggota yang ditampilkan.",
        "browse": "Lihat per provinsi atau kategori",
        "categories": "Kategori",
        "seen": "Ditampilkan {when} di {channel}",
        "actor_types": "Jenis usaha",
        "founded": "Berdiri sejak",
        "team": "Tenaga kerja",
        "team_value": "{n} orang",
        "capacity": "Kapasitas",
        "capacity_value": "{n} pasang per bulan",
        "materials": "Bahan",
        "markets": "Pasar ekspor",
        "certifications": "Sertifikasi",
        "website": "Situs web",
        "owner_name": "Pemilik",
        "phone": "Telepon",
        "whatsapp": "WhatsApp",
        "email": "E-mel",
        "features": "Ditampilkan di media sosial BPIPI",
        "card_alt": "Kartu promosi {name} untuk {channel}",
        "open_post": "Lihat unggahan di {channel}",
        "fairness_heading": "Seberapa merata anggota ditampilkan",
        "fairness_lead": (
            "IFN menjanjikan promosi berkala bagi setiap anggota. Halaman ini membandingkan "
            "bagian setiap provinsi dan setiap jenis pelaku usaha dari seluruh tampilan "
            "({features} tampilan sejauh ini) dengan bagiannya dari anggota yang dapat "
            "ditampilkan (aktif dan memberi persetujuan). Bagian tampilan yang jauh di bawah "
            "bagian anggota berarti kelompok itu perlu lebih sering ditampilkan."
        ),
        "fairness_note": (
            "Provinsi dan jenis pelaku dihitung menurut data anggota saat ini; anggota dengan "
            "lebih dari satu jenis dihitung menurut jenis pertamanya."
        ),
        "by_province": "Tampilan per provinsi dibanding jumlah anggota",
        "by_actor_type": "Tampilan per jenis pelaku dibanding jumlah anggota",
        "actor_type": "Jenis pelaku",
        "feature_count": "Tampilan",
        "member_count": "Anggota",
        "feature_share": "Bagian tampilan",
        "member_share": "Bagian anggota",
        "feature_bar": "{share} tampilan ({n})",
        "member_bar": "{share} anggota ({n})",
        "nothing_counted": "Belum ada tampilan maupun anggota untuk dihitung.",
        "unknown": "(tidak diketahui)",
    },
    "en": {
        "site": "IFN Member Showcase",
        "skip": "Skip to content",
        "sections": "Site sections",
        "all": "All members",
        "fairness": "How features spread",
        "other_language": "Bahasa Indonesia",
        "other_language_name": "Baca halaman ini dalam bahasa Indonesia",
        "footer": (
            "Indonesia Footwear Network (IFN), run by BPIPI, Ministry of Industry. Members are "
            "shown with their consent; only the details they allowed appear here."
        ),
        "updated": "Updated",
        "heading": "IFN members we have featured",
        "lead": (
            "Indonesian footwear businesses of the Indonesia Footwear Network promoted on "
            "BPIPI's Instagram, Facebook and YouTube: {count} members. Choose a member to see "
            "their profile and posts."
        ),
        "group_lead": (
            "{count} IFN members here have been featured on BPIPI's Instagram, Facebook or YouTube."
        ),
        "province": "Province",
        "category": "Category",
        "all_provinces": "All provinces",
        "all_categories": "All categories",
        "shown_of": "{shown} of {total} members",
        "none_match": "No member matches this choice.",
        "none_yet": "No member has been featured yet.",
        "browse": "Browse by province or category",
        "categories": "Categories",
        "seen": "Featured {when} on {channel}",
        "actor_types": "Business type",
        "founded": "Founded",
        "team": "Team",
        "team_value": "{n} people",
        "capacity": "Capacity",
        "capacity_value": "{n} pairs a month",
        "materials": "Materials",
        "markets": "Export markets",
        "certifications": "Certifications",
        "website": "Website",
        "owner_name": "Owner",
        "phone": "Phone",
        "whatsapp": "WhatsApp",
        "email": "E-mail",
        "features": "Featured on BPIPI's social media",
        "card_alt": "Promotion card of {name} for {channel}",
        "open_post": "See the post on {channel}",
        "fairness_heading": "How evenly members are featured",
        "fairness_lead": (
            "IFN promises every member periodic promotion. This page compares each province's "
            "and each business type's share of all features ({features} so far) with its share "
            "of the members who can be featured (active, with consent). A share of features "
            "well below the share of members means that group is due more features."
        ),
        "fairness_note": (
            "Provinces and business types are those the members have now; a member with more "
            "than one type counts under the first."
        ),
        "by_province": "Features by province against members",
        "by_actor_type": "Features by business type against members",
        "actor_type": "Business type",
        "feature_count": "Features",
        "member_count": "Members",
        "feature_share": "Share of features",
        "member_share": "Share of members",
        "feature_bar": "{share} of features ({n})",
        "member_bar": "{share} of members ({n})",
        "nothing_counted": "No features or members to count yet.",
        "unknown": "(unknown)",
    },
}
