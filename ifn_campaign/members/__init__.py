"""The member's side: signed page links, their answers, their withdrawals (ifn_campaign/notices
tells them; the console serves their page)."""
