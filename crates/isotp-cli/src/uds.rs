//! Names for the first bytes of a diagnostic message: UDS (ISO 14229) services, negative response
//! codes and common data identifiers, and the OBD-II services, for `-u`.

/// A short description of a message that starts with `payload` (at least the service id), e.g.
/// `ReadDataByIdentifier VIN (F190)` or `NegativeResponse to SecurityAccess: invalidKey (0x35)`.
/// `None` for an empty payload.
pub fn describe(payload: &[u8]) -> Option<String> {
    let (&sid, rest) = payload.split_first()?;
    if sid == 0x7F {
        let service = rest
            .first()
            .map(|&s| service_name(s).map_or_else(|| format!("service 0x{s:02X}"), str::to_string))
            .unwrap_or_else(|| "?".into());
        let nrc = rest
            .get(1)
            .map(|&c| format!("{} (0x{c:02X})", nrc_name(c)))
            .unwrap_or_else(|| "no code".into());
        return Some(format!("NegativeResponse to {service}: {nrc}"));
    }
    if let Some(name) = service_name(sid) {
        return Some(format!("{name}{}", details(sid, rest)));
    }
    let request = sid.wrapping_sub(0x40);
    if sid >= 0x40 {
        if let Some(name) = service_name(request) {
            return Some(format!(
                "{name} positive response{}",
                details(request, rest)
            ));
        }
    }
    Some(format!("unknown service 0x{sid:02X}"))
}

fn details(request_sid: u8, rest: &[u8]) -> String {
    match (request_sid, rest) {
        (0x10, [session, ..]) => format!(" {}", session_name(*session)),
        (0x11, [kind, ..]) => format!(
            " {}",
            match kind & 0x7F {
                1 => "hardReset",
                2 => "keyOffOnReset",
                3 => "softReset",
                4 => "enableRapidPowerShutDown",
                5 => "disableRapidPowerShutDown",
                _ => "(vendor reset type)",
            }
        ),
        (0x22 | 0x2E | 0x2F, [hi, lo, ..]) => {
            let did = u16::from_be_bytes([*hi, *lo]);
            match did_name(did) {
                Some(name) => format!(" {name} ({did:04X})"),
                None => format!(" {did:04X}"),
            }
        }
        (0x27, [level, ..]) => {
            let level = level & 0x7F;
            if level % 2 == 1 {
                format!(" requestSeed (level {level:#04X})")
            } else {
                format!(" sendKey (level {level:#04X})")
            }
        }
        (0x31, [kind, hi, lo, ..]) => format!(
            " {} routine {:04X}",
            match kind & 0x7F {
                1 => "startRoutine",
                2 => "stopRoutine",
                3 => "requestRoutineResults",
                _ => "(reserved)",
            },
            u16::from_be_bytes([*hi, *lo])
        ),
        (0x3E, [sub, ..]) if sub & 0x80 != 0 => " (suppress positive response)".into(),
        (0x36 | 0x76, [counter, ..]) => format!(" block {counter}"),
        (0x19, [sub, ..]) => format!(" subfunction 0x{:02X}", sub & 0x7F),
        (0x01..=0x0A, [pid, ..]) => format!(" PID 0x{pid:02X}"),
        _ => String::new(),
    }
}

fn service_name(sid: u8) -> Option<&'static str> {
    Some(match sid {
        0x01 => "OBD ShowCurrentData",
        0x02 => "OBD ShowFreezeFrameData",
        0x03 => "OBD ShowStoredDTCs",
        0x04 => "OBD ClearDTCs",
        0x05 => "OBD OxygenSensorMonitoring",
        0x06 => "OBD OnBoardMonitoring",
        0x07 => "OBD ShowPendingDTCs",
        0x08 => "OBD ControlOnBoardSystem",
        0x09 => "OBD RequestVehicleInformation",
        0x0A => "OBD PermanentDTCs",
        0x10 => "DiagnosticSessionControl",
        0x11 => "ECUReset",
        0x14 => "ClearDiagnosticInformation",
        0x19 => "ReadDTCInformation",
        0x22 => "ReadDataByIdentifier",
        0x23 => "ReadMemoryByAddress",
        0x24 => "ReadScalingDataByIdentifier",
        0x27 => "SecurityAccess",
        0x28 => "CommunicationControl",
        0x29 => "Authentication",
        0x2A => "ReadDataByPeriodicIdentifier",
        0x2C => "DynamicallyDefineDataIdentifier",
        0x2E => "WriteDataByIdentifier",
        0x2F => "InputOutputControlByIdentifier",
        0x31 => "RoutineControl",
        0x34 => "RequestDownload",
        0x35 => "RequestUpload",
        0x36 => "TransferData",
        0x37 => "RequestTransferExit",
        0x38 => "RequestFileTransfer",
        0x3D => "WriteMemoryByAddress",
        0x3E => "TesterPresent",
        0x83 => "AccessTimingParameter",
        0x84 => "SecuredDataTransmission",
        0x85 => "ControlDTCSetting",
        0x86 => "ResponseOnEvent",
        0x87 => "LinkControl",
        _ => return None,
    })
}

fn session_name(session: u8) -> String {
    match session & 0x7F {
        0x01 => "defaultSession".into(),
        0x02 => "programmingSession".into(),
        0x03 => "extendedDiagnosticSession".into(),
        0x04 => "safetySystemDiagnosticSession".into(),
        s => format!("session 0x{s:02X}"),
    }
}

fn did_name(did: u16) -> Option<&'static str> {
    Some(match did {
        0xF180 => "BootSoftwareIdentification",
        0xF186 => "ActiveDiagnosticSession",
        0xF187 => "SparePartNumber",
        0xF188 => "ECUSoftwareNumber",
        0xF189 => "ECUSoftwareVersion",
        0xF18A => "SystemSupplierIdentifier",
        0xF18B => "ECUManufacturingDate",
        0xF18C => "ECUSerialNumber",
        0xF190 => "VIN",
        0xF191 => "ECUHardwareNumber",
        0xF192 => "SupplierECUHardwareNumber",
        0xF193 => "SupplierECUHardwareVersion",
        0xF194 => "SupplierECUSoftwareNumber",
        0xF195 => "SupplierECUSoftwareVersion",
        0xF197 => "SystemName",
        0xF19E => "ODXFileIdentifier",
        _ => return None,
    })
}

fn nrc_name(code: u8) -> &'static str {
    match code {
        0x10 => "generalReject",
        0x11 => "serviceNotSupported",
        0x12 => "subFunctionNotSupported",
        0x13 => "incorrectMessageLengthOrInvalidFormat",
        0x14 => "responseTooLong",
        0x21 => "busyRepeatRequest",
        0x22 => "conditionsNotCorrect",
        0x24 => "requestSequenceError",
        0x25 => "noResponseFromSubnetComponent",
        0x26 => "failurePreventsExecutionOfRequestedAction",
        0x31 => "requestOutOfRange",
        0x33 => "securityAccessDenied",
        0x35 => "invalidKey",
        0x36 => "exceedNumberOfAttempts",
        0x37 => "requiredTimeDelayNotExpired",
        0x70 => "uploadDownloadNotAccepted",
        0x71 => "transferDataSuspended",
        0x72 => "generalProgrammingFailure",
        0x73 => "wrongBlockSequenceCounter",
        0x78 => "requestCorrectlyReceived-ResponsePending",
        0x7E => "subFunctionNotSupportedInActiveSession",
        0x7F => "serviceNotSupportedInActiveSession",
        _ => "reserved or vendor code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses() {
        assert_eq!(
            describe(&[0x22, 0xF1, 0x90]).unwrap(),
            "ReadDataByIdentifier VIN (F190)"
        );
        assert_eq!(
            describe(&[0x62, 0xF1, 0x90, b'W']).unwrap(),
            "ReadDataByIdentifier positive response VIN (F190)"
        );
        assert_eq!(
            describe(&[0x10, 0x03]).unwrap(),
            "DiagnosticSessionControl extendedDiagnosticSession"
        );
        assert_eq!(
            describe(&[0x3E, 0x80]).unwrap(),
            "TesterPresent (suppress positive response)"
        );
        assert_eq!(
            describe(&[0x27, 0x01]).unwrap(),
            "SecurityAccess requestSeed (level 0x01)"
        );
        assert_eq!(
            describe(&[0x01, 0x0C]).unwrap(),
            "OBD ShowCurrentData PID 0x0C"
        );
    }

    #[test]
    fn negative_responses() {
        assert_eq!(
            describe(&[0x7F, 0x22, 0x31]).unwrap(),
            "NegativeResponse to ReadDataByIdentifier: requestOutOfRange (0x31)"
        );
        assert_eq!(
            describe(&[0x7F, 0xAA]).unwrap(),
            "NegativeResponse to service 0xAA: no code"
        );
        assert_eq!(describe(&[0x7F]).unwrap(), "NegativeResponse to ?: no code");
    }

    #[test]
    fn unknown_and_empty() {
        assert_eq!(describe(&[]), None);
        assert_eq!(describe(&[0xFF]).unwrap(), "unknown service 0xFF");
        assert_eq!(describe(&[0x40]).unwrap(), "unknown service 0x40");
    }
}
