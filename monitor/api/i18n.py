"""The web UI's words in German (the default: the users are Lower Saxony's agencies) and English."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.models import DEFAULT_LANGUAGE

MESSAGES: dict[str, dict[str, str]] = {
    "de": {
        "app": "Posture-Monitor",
        "skip": "Zum Inhalt springen",
        "sign_in": "Anmelden",
        "sign_out": "Abmelden",
        "token": "Zugangstoken",
        "token_help": "Das Token, das Sie vom CERT erhalten haben. Es wird nicht im Browser gespeichert.",
        "bad_token": "Dieses Token ist unbekannt oder wurde widerrufen.",
        "metrics_token": "Dieses Token darf nur Metriken abrufen (für Prometheus), nicht anmelden.",
        "too_many_failures": (
            "Zu viele fehlgeschlagene Anmeldungen von dieser Adresse oder mit diesem Token. "
            "Bitte warten Sie eine Minute."
        ),
        "bad_csrf": "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        "endpoints": "Endpunkte",
        "findings": "Befunde",
        "agency": "Behörde",
        "host": "Host (Name oder IP-Adresse)",
        "port": "Port",
        "checks": "Prüfungen",
        "register": "Endpunkt registrieren",
        "registered": "Der Endpunkt wurde registriert.",
        "posture": "Lage",
        "open_findings": "Offene Befunde",
        "worst": "Schwerster Befund",
        "last_scan": "Letzte Prüfung",
        "never": "noch nie",
        "none": "keine",
        "no_endpoints": "Noch keine Endpunkte registriert.",
        "no_findings": "Keine Befunde.",
        "no_runs": "Noch keine Prüfläufe.",
        "export_csv": "Alle Befunde als CSV-Datei für Excel herunterladen",
        "next_page": "Nächste Seite",
        "severity": "Schweregrad",
        "state": "Status",
        "title": "Befund",
        "first_seen": "Zuerst gesehen",
        "last_seen": "Zuletzt gesehen",
        "due": "Zu beheben bis",
        "remediation": "Empfohlene Abhilfe",
        "history": "Verlauf der Prüfung",
        "started": "Beginn",
        "status": "Ergebnis",
        "duration": "Dauer (s)",
        "error": "Fehler",
        "rescan": "Jetzt erneut prüfen",
        "rescan_requested": "Die erneute Prüfung ist angefordert; das Ergebnis erscheint nach dem Lauf.",
        "accept": "Risiko akzeptieren",
        "accept_reason": "Begründung",
        "accept_until": "Akzeptiert bis (Datum)",
        "accepted": "Das Risiko ist akzeptiert.",
        "accepted_until": "Akzeptiert bis",
        "back": "Zurück zur Übersicht",
        "language": "Sprache",
        "not_found": "Nicht gefunden.",
        "error_out_of_scope": "Dieser Host liegt außerhalb des Prüfbereichs Ihrer Behörde.",
        "error_invalid_input": "Diese Angabe ist ungültig.",
        "error_conflict": "Dieser Endpunkt ist bereits registriert.",
        "error_rate_limited": "Eine erneute Prüfung wurde gerade erst angefordert. Bitte warten Sie einige Minuten.",
        "error_not_found": "Nicht gefunden.",
        "error_forbidden": "Ihre Rolle erlaubt das nicht.",
        "sev_info": "Info",
        "sev_low": "Niedrig",
        "sev_medium": "Mittel",
        "sev_high": "Hoch",
        "sev_critical": "Kritisch",
        "state_open": "offen",
        "state_resolved": "behoben",
        "state_accepted": "akzeptiert",
        "endpoint": "Endpunkt",
        "page_of": "Seite {page} von {pages} · Endpunkte insgesamt: {total}",
        "previous_page": "Vorherige Seite",
        "labels": "Labels",
        "labels_help": "Eine Angabe je Zeile im Format schlüssel=wert, z. B. standort=rathaus.",
        "filter": "Filtern",
        "filter_label": "Nach Label filtern (schlüssel=wert)",
        "filter_status": "Nach Zustand filtern",
        "all": "alle",
        "reset_filter": "Filter zurücksetzen",
        "interval": "Prüfintervall",
        "interval_help": "Leer lassen für den Standard, sonst z. B. 15m, 6h oder 1d.",
        "interval_default": "Standard",
        "expected_ports": "Erwartete offene Ports",
        "expected_ports_help": "Kommagetrennt, z. B. 80, 443. Andere offene Ports werden gemeldet.",
        "edit": "Bearbeiten",
        "edit_title": "Endpunkt bearbeiten",
        "save": "Speichern",
        "saved": "Die Änderungen sind gespeichert.",
        "cancel": "Abbrechen",
        "delete": "Endpunkt löschen",
        "delete_title": "Endpunkt löschen?",
        "delete_confirm": (
            "Der Endpunkt wird nicht mehr geprüft; seine Befunde und ihr Verlauf werden gelöscht. "
            "Das lässt sich nicht rückgängig machen."
        ),
        "delete_yes": "Ja, endgültig löschen",
        "deleted": "Der Endpunkt wurde gelöscht.",
        "revoke": "Akzeptanz zurücknehmen",
        "revoked": "Die Akzeptanz ist zurückgenommen; der Befund ist wieder offen.",
        "meaning": "Was bedeutet das?",
        "evidence_heading": "Nachweise",
        "evidence_note": (
            "Als „vom Server gemeldet“ markierte Werte stammen unverändert vom geprüften System "
            "und sind ungeprüfter Text."
        ),
        "flapping_note": (
            "Dieser Befund tritt abwechselnd auf und verschwindet wieder (schwankend). "
            "Meldungen dazu sind stummgeschaltet, bis er eine Weile stabil ist."
        ),
        "state_flapping": "schwankend",
        "time_zone_note": "Zeiten in deutscher Zeit (MEZ/MESZ).",
        "scope": "Prüfbereich",
        "scope_intro": (
            "Diese Domains und Netze gehören Ihrer Behörde; nur darin dürfen Endpunkte und Domains registriert und "
            "geprüft werden."
        ),
        "scope_empty": "Noch kein Prüfbereich eingetragen.",
        "scope_requests": "Anträge auf Erweiterung",
        "scope_request": "Erweiterung beantragen",
        "scope_request_help": (
            "Eine Domain Ihrer Behörde, z. B. stadt-beispiel.de. Sie erhalten einen TXT-Eintrag, den Sie "
            "im DNS der Domain veröffentlichen. Sobald wir ihn finden, gehört die Domain zum Prüfbereich; sonst "
            "entscheidet das CERT."
        ),
        "scope_value": "Domain",
        "scope_requested": "Der Antrag ist gestellt. Veröffentlichen Sie nun den angezeigten TXT-Eintrag.",
        "scope_verified": "Der TXT-Eintrag wurde gefunden; die Domain gehört jetzt zum Prüfbereich Ihrer Behörde.",
        "scope_verify": "TXT-Eintrag jetzt prüfen",
        "txt_record": "TXT-Eintrag",
        "request_state_pending": "wartet",
        "request_state_active": "freigegeben",
        "request_state_rejected": "abgelehnt",
        "scope_link": "Prüfbereich anzeigen oder Erweiterung beantragen",
        "session_ended": "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.",
        "token_revoked": (
            "Ihr Zugangstoken wurde widerrufen; die Sitzung ist beendet. Bitte wenden Sie sich für ein "
            "neues Token an Ihre CERT-Ansprechpartner."
        ),
        "status_col": "Zustand",
        "check_status": "Zustand der Prüfungen",
        "summary_item": "Angabe",
        "summary_value": "Wert",
        "summary_note": (
            "Stand des letzten erfolgreichen Laufs der Prüfung. Werte in Festbreitenschrift sind Text, den der Server "
            "gesendet hat (gekürzt, wie gespeichert); was zu setzen ist, steht bei den Befunden."
        ),
        "reason": "Grund",
        "next_run": "Nächste Prüfung",
        "failures": "Fehlschläge in Folge",
        "failures_short": "in Folge",
        "run_ok": "erfolgreich",
        "run_pending": "noch nicht gelaufen",
        "run_incomplete": "unvollständig",
        "run_unreachable": "nicht erreichbar",
        "run_timed_out": "Zeitüberschreitung",
        "run_misconfigured": "Konfigurationsfehler",
        "run_crashed": "interner Fehler",
        "why_unreachable": (
            "Der Server hat nicht geantwortet: Verbindung abgelehnt, zurückgesetzt, Zeitüberschreitung oder der Name "
            "ließ sich nicht auflösen. Offene Befunde bleiben offen, bis er wieder geprüft werden kann."
        ),
        "why_timed_out": (
            "Die Prüfung wurde nicht innerhalb ihres Zeitlimits fertig; sie wird beim nächsten Lauf wiederholt."
        ),
        "why_misconfigured": (
            "Die Prüfung ist auf Seiten des Dienstes falsch eingerichtet (z. B. eine fehlende Datei oder Einstellung). "
            "Das ist kein Fehler Ihres Servers; bitte wenden Sie sich an Ihre CERT-Ansprechpartner."
        ),
        "why_crashed": (
            "Bei der Prüfung ist ein interner Fehler aufgetreten. Das ist kein Fehler Ihres Servers; das CERT sieht "
            "ihn im Protokoll."
        ),
        "why_incomplete": (
            "Einige Teile konnten in diesem Lauf nicht getestet werden; der nächste Lauf versucht es erneut."
        ),
        "technical_detail": "Technische Angabe",
        "not_checked_note": (
            "Keine Befunde bedeutet hier nicht „in Ordnung“: Der Endpunkt konnte zuletzt nicht vollständig geprüft "
            "werden (siehe Zustand der Prüfungen)."
        ),
        "untested": "Nicht getestet",
        "health_pending": "noch nicht geprüft",
        "health_ok": "in Ordnung",
        "health_incomplete": "unvollständig geprüft",
        "health_failing": "Prüfung fehlgeschlagen",
        "health_unreachable": "nicht erreichbar",
        "check_tls": "TLS-Verschlüsselung",
        "check_ports": "Offene Ports",
        "check_patches": "Patch-Stand",
        "check_reachability": "Erreichbarkeit",
        "check_dnssec": "DNSSEC",
        "domains": "Domains",
        "domain": "Domain",
        "domains_intro": (
            "Hier prüfen wir Namen Ihrer Behörde, z. B. stadt-beispiel.de, im DNS (etwa DNSSEC). Server mit Port "
            "registrieren Sie unter „Endpunkte“."
        ),
        "domain_name": "Domainname",
        "domain_name_help": "Nur der Name, z. B. stadt-beispiel.de. Er muss im Prüfbereich Ihrer Behörde liegen.",
        "register_domain": "Domain registrieren",
        "domain_registered": "Die Domain wurde registriert.",
        "domain_deleted": "Die Domain wurde gelöscht.",
        "no_domains": "Noch keine Domains registriert.",
        "no_domain_checks": (
            "Für Domains ist noch keine Prüfung eingerichtet. Sobald das CERT eine einrichtet (z. B. DNSSEC), "
            "können Sie hier Domains registrieren."
        ),
        "page_of_domains": "Seite {page} von {pages} · Domains insgesamt: {total}",
        "edit_domain_title": "Domain bearbeiten",
        "delete_domain": "Domain löschen",
        "delete_domain_title": "Domain löschen?",
        "delete_domain_confirm": (
            "Die Domain wird nicht mehr geprüft; ihre Befunde und deren Verlauf werden gelöscht. "
            "Das lässt sich nicht rückgängig machen."
        ),
        "why_domain_unreachable": (
            "Die Nameserver der Domain haben nicht geantwortet, oder der Name ließ sich nicht auflösen. Offene Befunde "
            "bleiben offen, bis die Domain wieder geprüft werden kann."
        ),
        "domain_not_checked_note": (
            "Keine Befunde bedeutet hier nicht „in Ordnung“: Die Domain konnte zuletzt nicht vollständig geprüft "
            "werden (siehe Zustand der Prüfungen)."
        ),
        "domain_scope_is": "Zum Prüfbereich der Behörde gehören diese Domains samt ihren Subdomains:",
        "domain_scope_empty": "Zum Prüfbereich der Behörde gehört noch keine Domain.",
        "form_domain_missing": "Bitte einen Domainnamen eingeben, z. B. stadt-beispiel.de.",
        "form_domain_url": "Bitte nur den Namen ohne https:// und ohne Pfad eingeben, z. B. stadt-beispiel.de.",
        "form_domain_port": "Eine Domain hat keinen Port. Bitte nur den Namen eingeben, z. B. stadt-beispiel.de.",
        "form_domain_invalid": "Bitte einen gültigen Domainnamen eingeben, z. B. stadt-beispiel.de.",
        "form_domain_ip": (
            "Eine Domain ist ein Name wie stadt-beispiel.de, keine IP-Adresse. Einen Server mit IP-Adresse "
            "registrieren Sie als Endpunkt."
        ),
        "error_domain_out_of_scope": "Diese Domain liegt außerhalb des Prüfbereichs Ihrer Behörde.",
        "error_domain_conflict": "Diese Domain ist bereits registriert.",
        "form_host_url": "Bitte nur den Namen ohne https:// und ohne Pfad eingeben, z. B. www.stadt-beispiel.de.",
        "form_host_port": "Bitte den Port nicht hier, sondern im Feld „Port“ angeben.",
        "form_host_invalid": (
            "Bitte einen gültigen Hostnamen (z. B. www.stadt-beispiel.de) oder eine IP-Adresse eingeben."
        ),
        "form_host_missing": "Bitte einen Hostnamen oder eine IP-Adresse eingeben.",
        "form_port": "Bitte eine Portnummer von 1 bis 65535 eingeben, z. B. 443.",
        "form_checks": "Bitte mindestens eine Prüfung auswählen.",
        "form_interval": "Bitte eine Dauer wie 15m, 6h oder 1d angeben (mindestens 5s, höchstens 3650d).",
        "form_labels": (
            "Bitte je Zeile ein Label als schlüssel=wert angeben (Schlüssel 1 bis 64 Zeichen, Wert bis 200 Zeichen, "
            "höchstens 20 Labels)."
        ),
        "form_expected_ports": "Bitte Portnummern von 1 bis 65535 mit Komma getrennt angeben, z. B. 80, 443.",
        "form_agency": "Bitte das Kürzel einer Behörde angeben, z. B. stadt-beispiel.",
        "form_reason": "Bitte begründen Sie, warum das Risiko akzeptiert wird.",
        "form_until": "Bitte ein Datum in der Zukunft angeben, höchstens {days} Tage ab heute.",
        "form_scope_value": "Bitte eine Domain wie stadt-beispiel.de angeben (ohne https:// und ohne Pfad).",
        "error_unresolvable": "Dieser Name lässt sich nicht auflösen (kein DNS-Eintrag gefunden).",
        "error_rate_limited_until": (
            "Eine erneute Prüfung wurde gerade erst angefordert. Die nächste ist ab {time} möglich."
        ),
        "error_not_accepted": "Nur ein offener Befund kann als Risiko akzeptiert werden.",
        "error_scope_conflict": "Diese Domain wurde für Ihre Behörde bereits beantragt.",
        "error_scope_decided": "Über diesen Antrag ist bereits entschieden.",
        "error_txt_missing": (
            "Der TXT-Eintrag wurde (noch) nicht gefunden. DNS-Änderungen brauchen oft einige Minuten; "
            "bitte später noch einmal prüfen."
        ),
        # discovery: the inbox of assets seen inside the scope that nobody registered
        "discoveries": "Entdeckte Systeme",
        "discoveries_intro": (
            "Diese Systeme liegen im Prüfbereich Ihrer Behörde, sind aber nicht registriert. Gefunden wurden sie im "
            "DNS, bei einem Scan Ihrer Netze, in Zertifikaten oder in Certificate-Transparency-Logs. Bestätigen Sie "
            "ein System, damit es überwacht wird, oder verwerfen Sie es mit einer Begründung."
        ),
        "discoveries_empty": "Keine Einträge in dieser Ansicht.",
        "discovery_state": "Status der Einträge",
        "discovery_state_candidate": "Neu",
        "discovery_state_registered": "Registriert",
        "discovery_state_dismissed": "Verworfen",
        "discovery_state_all": "Alle",
        "discovery_asset": "System",
        "discovery_sources": "Gefunden über",
        "discovery_source_dns": "DNS",
        "discovery_source_sweep": "Netzscan",
        "discovery_source_certs": "Zertifikat",
        "discovery_source_ct": "CT-Log",
        "discovery_exposure": "Gefährdung",
        "discovery_first_seen": "Zuerst gesehen",
        "discovery_last_seen": "Zuletzt gesehen",
        "discovery_asset_registered": "Registriert als",
        "discovery_evidence": "Belege",
        "discovery_evidence_help": "So wurde das System gesehen; die Angaben stammen aus dem Netz und sind ungeprüft.",
        "discovery_confirm": "Bestätigen und überwachen",
        "discovery_confirm_as": "Registrieren als",
        "discovery_as_endpoint": "Endpunkt (Host und Port)",
        "discovery_as_domain": "Domain (DNSSEC, E-Mail)",
        "discovery_port_help": "Für einen Endpunkt: der Port des Dienstes, z. B. 443.",
        "discovery_dismiss": "Verwerfen",
        "discovery_reason": "Begründung",
        "discovery_reason_help": "Zum Beispiel „gehört dem Dienstleister“ oder „Testsystem, wird abgeschaltet“.",
        "form_dismiss_reason": "Bitte eine Begründung mit höchstens 300 Zeichen angeben.",
        "discovery_confirmed": "Das System ist registriert und wird ab jetzt überwacht.",
        "discovery_dismissed": "Der Eintrag ist verworfen.",
        "discovery_runs": "Suchläufe",
        "discovery_source": "Quelle",
        "discovery_last_run": "Letzter Lauf",
        "discovery_next_run": "Nächster Lauf",
        "discovery_never": "noch nie",
        "discovery_run_ok": "erfolgreich",
        "discovery_run_failed": "fehlgeschlagen",
        # weekly reports: contacts and the archive
        "reports": "Berichte",
        "reports_intro": (
            "Jeden Montag erhalten die Kontakte Ihrer Behörde den Sicherheitsbericht der vergangenen Woche als PDF. "
            "Hier finden Sie frühere Berichte und ob sie zugestellt wurden."
        ),
        "reports_agencies": "Behörden",
        "reports_none": "Noch keine Berichte.",
        "report_week": "Kalenderwoche",
        "report_download": "PDF herunterladen",
        "report_language_de": "Deutsch",
        "report_language_en": "Englisch",
        "delivery": "Zustellung",
        "delivery_status_queued": "wartet",
        "delivery_status_sending": "wird gesendet",
        "delivery_status_sent": "zugestellt",
        "delivery_status_failed": "fehlgeschlagen",
        "delivery_attempts": "Versuche",
        "delivery_last_error": "Letzter Fehler",
        "delivery_next_attempt": "Nächster Versuch",
        "delivery_given_up": "aufgegeben",
        "contacts": "Kontakte",
        "contacts_intro": "Diese Personen erhalten den wöchentlichen Sicherheitsbericht per E-Mail.",
        "contacts_none": "Noch keine Kontakte. Ohne Kontakt wird kein Bericht versandt.",
        "contact_name": "Name",
        "contact_email": "E-Mail-Adresse",
        "contact_role": "Rolle",
        "contact_language": "Sprache der Berichte",
        "contact_role_security": "Informationssicherheit",
        "contact_role_it": "IT-Betrieb",
        "contact_role_management": "Leitung",
        "contact_add": "Kontakt hinzufügen",
        "contact_added": "Der Kontakt wurde hinzugefügt.",
        "contact_remove": "Entfernen",
        "contact_removed": "Der Kontakt wurde entfernt.",
        "form_contact_name": "Bitte einen Namen angeben (höchstens 200 Zeichen).",
        "form_contact_email": "Bitte eine gültige E-Mail-Adresse angeben, z. B. it-sicherheit@behoerde.de.",
        "form_contact_role": "Bitte eine der Rollen wählen.",
        "form_contact_language": "Bitte Deutsch oder Englisch wählen.",
        "error_contact_conflict": "Diese E-Mail-Adresse ist bereits ein Kontakt Ihrer Behörde.",
    },
    "en": {
        "app": "Posture Monitor",
        "skip": "Skip to content",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "token": "Access token",
        "token_help": "The token the CERT gave you. It is not stored in the browser.",
        "bad_token": "This token is unknown or was revoked.",
        "metrics_token": "This token may only read metrics (for Prometheus); it cannot sign in.",
        "too_many_failures": "Too many failed sign-ins from this address or with this token. Please wait a minute.",
        "bad_csrf": "The form has expired. Please reload the page and try again.",
        "endpoints": "Endpoints",
        "findings": "Findings",
        "agency": "Agency",
        "host": "Host (name or IP address)",
        "port": "Port",
        "checks": "Checks",
        "register": "Register endpoint",
        "registered": "The endpoint was registered.",
        "posture": "Posture",
        "open_findings": "Open findings",
        "worst": "Worst finding",
        "last_scan": "Last check",
        "never": "never",
        "none": "none",
        "no_endpoints": "No endpoints registered yet.",
        "no_findings": "No findings.",
        "no_runs": "No runs yet.",
        "export_csv": "Download all findings as a CSV file for Excel",
        "next_page": "Next page",
        "severity": "Severity",
        "state": "State",
        "title": "Finding",
        "first_seen": "First seen",
        "last_seen": "Last seen",
        "due": "Fix by",
        "remediation": "Recommended remediation",
        "history": "History of the check",
        "started": "Started",
        "status": "Result",
        "duration": "Duration (s)",
        "error": "Error",
        "rescan": "Re-scan now",
        "rescan_requested": "A re-scan was requested; the result appears after the run.",
        "accept": "Accept risk",
        "accept_reason": "Reason",
        "accept_until": "Accepted until (date)",
        "accepted": "The risk is accepted.",
        "accepted_until": "Accepted until",
        "back": "Back to the overview",
        "language": "Language",
        "not_found": "Not found.",
        "error_out_of_scope": "This host is outside your agency's scope.",
        "error_invalid_input": "This value is not valid.",
        "error_conflict": "This endpoint is registered already.",
        "error_rate_limited": "A re-scan was requested only just now. Please wait a few minutes.",
        "error_not_found": "Not found.",
        "error_forbidden": "Your role does not allow this.",
        "sev_info": "Info",
        "sev_low": "Low",
        "sev_medium": "Medium",
        "sev_high": "High",
        "sev_critical": "Critical",
        "state_open": "open",
        "state_resolved": "resolved",
        "state_accepted": "accepted",
        "endpoint": "Endpoint",
        "page_of": "Page {page} of {pages} · endpoints in all: {total}",
        "previous_page": "Previous page",
        "labels": "Labels",
        "labels_help": "One per line as key=value, e.g. site=town-hall.",
        "filter": "Filter",
        "filter_label": "Filter by label (key=value)",
        "filter_status": "Filter by state",
        "all": "all",
        "reset_filter": "Clear filter",
        "interval": "Check interval",
        "interval_help": "Leave empty for the default, else e.g. 15m, 6h or 1d.",
        "interval_default": "default",
        "expected_ports": "Expected open ports",
        "expected_ports_help": "Comma-separated, e.g. 80, 443. Other open ports are reported.",
        "edit": "Edit",
        "edit_title": "Edit endpoint",
        "save": "Save",
        "saved": "The changes are saved.",
        "cancel": "Cancel",
        "delete": "Delete endpoint",
        "delete_title": "Delete this endpoint?",
        "delete_confirm": (
            "The endpoint is no longer checked; its findings and their history are deleted. This cannot be undone."
        ),
        "delete_yes": "Yes, delete for good",
        "deleted": "The endpoint was deleted.",
        "revoke": "Withdraw the acceptance",
        "revoked": "The acceptance is withdrawn; the finding is open again.",
        "meaning": "What does this mean?",
        "evidence_heading": "Evidence",
        "evidence_note": (
            "Values marked “reported by the server” come unchanged from the checked system: untrusted text."
        ),
        "flapping_note": (
            "This finding keeps appearing and disappearing (flapping). Its alerts are muted until it has been "
            "stable for a while."
        ),
        "state_flapping": "flapping",
        "time_zone_note": "Times in German time (CET/CEST).",
        "scope": "Scope",
        "scope_intro": (
            "These domains and networks belong to your agency; endpoints and domains can be registered and checked "
            "only inside them."
        ),
        "scope_empty": "No scope yet.",
        "scope_requests": "Requests for more scope",
        "scope_request": "Request a scope extension",
        "scope_request_help": (
            "A domain of your agency, e.g. town-example.de. You get a TXT record to publish in the domain's DNS; "
            "once we find it, the domain is part of the scope; otherwise the CERT decides."
        ),
        "scope_value": "Domain",
        "scope_requested": "The request is filed. Now publish the TXT record shown.",
        "scope_verified": "The TXT record was found; the domain is now part of your agency's scope.",
        "scope_verify": "Check the TXT record now",
        "txt_record": "TXT record",
        "request_state_pending": "pending",
        "request_state_active": "approved",
        "request_state_rejected": "rejected",
        "scope_link": "Show the scope or request an extension",
        "session_ended": "Your session has expired. Please sign in again.",
        "token_revoked": (
            "Your access token was revoked, which ended the session. Ask your CERT contacts for a new one."
        ),
        "status_col": "State",
        "check_status": "State of the checks",
        "summary_item": "Item",
        "summary_value": "Value",
        "summary_note": (
            "As of the check's last successful run. Values in a fixed-width font are text the server sent (cut short "
            "as stored); what to set is on the findings' pages."
        ),
        "reason": "Reason",
        "next_run": "Next check",
        "failures": "Failures in a row",
        "failures_short": "in a row",
        "run_ok": "succeeded",
        "run_pending": "not run yet",
        "run_incomplete": "incomplete",
        "run_unreachable": "unreachable",
        "run_timed_out": "timed out",
        "run_misconfigured": "misconfigured",
        "run_crashed": "internal error",
        "why_unreachable": (
            "The server did not answer: connection refused, reset, timed out, or the name did not resolve. Open "
            "findings stay open until it can be checked again."
        ),
        "why_timed_out": "The check did not finish within its time limit; the next run tries again.",
        "why_misconfigured": (
            "The check is set up wrongly on the service's side (a missing file or setting, for instance). This is "
            "not your server's fault; please contact your CERT."
        ),
        "why_crashed": "The check hit an internal error. This is not your server's fault; the CERT sees it in the log.",
        "why_incomplete": "Some parts could not be tested in this run; the next run tries again.",
        "technical_detail": "Technical detail",
        "not_checked_note": (
            "No findings does not mean “fine” here: the endpoint could not be checked completely lately (see the "
            "state of the checks)."
        ),
        "untested": "Not tested",
        "health_pending": "not checked yet",
        "health_ok": "fine",
        "health_incomplete": "checked incompletely",
        "health_failing": "check failed",
        "health_unreachable": "unreachable",
        "check_tls": "TLS encryption",
        "check_ports": "Open ports",
        "check_patches": "Patch level",
        "check_reachability": "Reachability",
        "check_dnssec": "DNSSEC",
        "domains": "Domains",
        "domain": "Domain",
        "domains_intro": (
            "Here we check your agency's names, e.g. town-example.de, in the DNS (DNSSEC, for instance). Servers with "
            "a port are registered under “Endpoints”."
        ),
        "domain_name": "Domain name",
        "domain_name_help": "The name only, e.g. town-example.de. It must lie inside your agency's scope.",
        "register_domain": "Register domain",
        "domain_registered": "The domain was registered.",
        "domain_deleted": "The domain was deleted.",
        "no_domains": "No domains registered yet.",
        "no_domain_checks": (
            "No check for domains is set up yet. Once the CERT sets one up (DNSSEC, for instance), you can register "
            "domains here."
        ),
        "page_of_domains": "Page {page} of {pages} · domains in all: {total}",
        "edit_domain_title": "Edit domain",
        "delete_domain": "Delete domain",
        "delete_domain_title": "Delete this domain?",
        "delete_domain_confirm": (
            "The domain is no longer checked; its findings and their history are deleted. This cannot be undone."
        ),
        "why_domain_unreachable": (
            "The domain's name servers did not answer, or the name did not resolve. Open findings stay open until the "
            "domain can be checked again."
        ),
        "domain_not_checked_note": (
            "No findings does not mean “fine” here: the domain could not be checked completely lately (see the "
            "state of the checks)."
        ),
        "domain_scope_is": "The agency's scope holds these domains with their subdomains:",
        "domain_scope_empty": "The agency's scope holds no domain yet.",
        "form_domain_missing": "Enter a domain name, e.g. town-example.de.",
        "form_domain_url": "Enter the name only, without https:// and without a path, e.g. town-example.de.",
        "form_domain_port": "A domain has no port. Enter the name only, e.g. town-example.de.",
        "form_domain_invalid": "Enter a valid domain name, e.g. town-example.de.",
        "form_domain_ip": (
            "A domain is a name such as town-example.de, not an IP address. Register a server by its IP address as "
            "an endpoint."
        ),
        "error_domain_out_of_scope": "This domain is outside your agency's scope.",
        "error_domain_conflict": "This domain is registered already.",
        "form_host_url": "Enter the name only, without https:// and without a path, e.g. www.town-example.de.",
        "form_host_port": "Enter the port in the “Port” field, not here.",
        "form_host_invalid": "Enter a valid host name (e.g. www.town-example.de) or an IP address.",
        "form_host_missing": "Enter a host name or an IP address.",
        "form_port": "Enter a port number from 1 to 65535, e.g. 443.",
        "form_checks": "Select at least one check.",
        "form_interval": "Enter a duration such as 15m, 6h or 1d (at least 5s, at most 3650d).",
        "form_labels": (
            "Enter one label per line as key=value (keys 1-64 characters, values up to 200, at most 20 labels)."
        ),
        "form_expected_ports": "Enter port numbers from 1 to 65535, separated by commas, e.g. 80, 443.",
        "form_agency": "Enter an agency's short name, e.g. town-example.",
        "form_reason": "Say why the risk is accepted.",
        "form_until": "Enter a date in the future, at most {days} days from today.",
        "form_scope_value": "Enter a domain such as town-example.de (without https:// and without a path).",
        "error_unresolvable": "This name does not resolve (no DNS record found).",
        "error_rate_limited_until": "A re-scan was requested only just now. The next one is possible from {time}.",
        "error_not_accepted": "Only an open finding can be accepted as a risk.",
        "error_scope_conflict": "This domain was requested for your agency already.",
        "error_scope_decided": "This request has been decided already.",
        "error_txt_missing": (
            "The TXT record was not found (yet). DNS changes often take a few minutes; check again later."
        ),
        # discovery: the inbox of assets seen inside the scope that nobody registered
        "discoveries": "Discovered assets",
        "discoveries_intro": (
            "These hosts and services lie inside your agency's scope but are not registered. They were seen in DNS, "
            "by a sweep of your networks, in certificates or in Certificate Transparency logs. Confirm one to have it "
            "monitored, or dismiss it with a reason."
        ),
        "discoveries_empty": "Nothing in this view.",
        "discovery_state": "State of the entries",
        "discovery_state_candidate": "New",
        "discovery_state_registered": "Registered",
        "discovery_state_dismissed": "Dismissed",
        "discovery_state_all": "All",
        "discovery_asset": "Asset",
        "discovery_sources": "Seen by",
        "discovery_source_dns": "DNS",
        "discovery_source_sweep": "Network sweep",
        "discovery_source_certs": "Certificate",
        "discovery_source_ct": "CT log",
        "discovery_exposure": "Exposure",
        "discovery_first_seen": "First seen",
        "discovery_last_seen": "Last seen",
        "discovery_asset_registered": "Registered as",
        "discovery_evidence": "Evidence",
        "discovery_evidence_help": "How the asset was seen; this comes from the network and is unverified.",
        "discovery_confirm": "Confirm and monitor",
        "discovery_confirm_as": "Register as",
        "discovery_as_endpoint": "Endpoint (host and port)",
        "discovery_as_domain": "Domain (DNSSEC, mail)",
        "discovery_port_help": "For an endpoint: the service's port, e.g. 443.",
        "discovery_dismiss": "Dismiss",
        "discovery_reason": "Reason",
        "discovery_reason_help": "For example “the provider's” or “test system, being shut down”.",
        "form_dismiss_reason": "Give a reason of at most 300 characters.",
        "discovery_confirmed": "The asset is registered and monitored from now on.",
        "discovery_dismissed": "The entry is dismissed.",
        "discovery_runs": "Discovery runs",
        "discovery_source": "Source",
        "discovery_last_run": "Last run",
        "discovery_next_run": "Next run",
        "discovery_never": "never",
        "discovery_run_ok": "succeeded",
        "discovery_run_failed": "failed",
        # weekly reports: contacts and the archive
        "reports": "Reports",
        "reports_intro": (
            "Every Monday your agency's contacts receive last week's security report as a PDF. Here are earlier "
            "reports and whether they were delivered."
        ),
        "reports_agencies": "Agencies",
        "reports_none": "No reports yet.",
        "report_week": "Week",
        "report_download": "Download PDF",
        "report_language_de": "German",
        "report_language_en": "English",
        "delivery": "Delivery",
        "delivery_status_queued": "queued",
        "delivery_status_sending": "sending",
        "delivery_status_sent": "delivered",
        "delivery_status_failed": "failed",
        "delivery_attempts": "Attempts",
        "delivery_last_error": "Last error",
        "delivery_next_attempt": "Next attempt",
        "delivery_given_up": "given up",
        "contacts": "Contacts",
        "contacts_intro": "These people receive the weekly security report by e-mail.",
        "contacts_none": "No contacts yet. Without a contact no report is sent.",
        "contact_name": "Name",
        "contact_email": "E-mail address",
        "contact_role": "Role",
        "contact_language": "Language of the reports",
        "contact_role_security": "Information security",
        "contact_role_it": "IT operations",
        "contact_role_management": "Management",
        "contact_add": "Add contact",
        "contact_added": "The contact was added.",
        "contact_remove": "Remove",
        "contact_removed": "The contact was removed.",
        "form_contact_name": "Enter a name (at most 200 characters).",
        "form_contact_email": "Enter a valid e-mail address such as it-security@agency.example.",
        "form_contact_role": "Choose one of the roles.",
        "form_contact_language": "Choose German or English.",
        "error_contact_conflict": "This e-mail address is a contact of your agency already.",
    },
}


def translator(language: str) -> dict[str, str]:
    return MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])


BERLIN = ZoneInfo("Europe/Berlin")
_ZONE_NAMES_DE = {"CET": "MEZ", "CEST": "MESZ"}


def _in_berlin(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BERLIN)


def local_time(moment: datetime, language: str) -> str:
    """`moment` in Lower Saxony's time with the zone named: "04.12.2026, 11:30 MEZ" or "2026-12-04 11:30 CET"."""
    here = _in_berlin(moment)
    zone = here.tzname() or ""
    if language == "de":
        return f"{here:%d.%m.%Y, %H:%M} {_ZONE_NAMES_DE.get(zone, zone)}"
    return f"{here:%Y-%m-%d %H:%M} {zone}"


def local_date(moment: datetime, language: str) -> str:
    here = _in_berlin(moment)
    return f"{here:%d.%m.%Y}" if language == "de" else f"{here:%Y-%m-%d}"
