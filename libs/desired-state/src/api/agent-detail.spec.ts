import { opamp } from '@opamp/protocol';
import { packageStatusesMessage } from './agent-detail';

const S = opamp.proto.v1.PackageStatusEnum;

describe('package statuses in the API', () => {
  it('carries a download in progress (download_details) and nothing for the other states', () => {
    // As status-ingest stores them: PackageStatuses' JSON, bytes in base64.
    const stored = {
      packages: {
        otelcol: { name: 'otelcol', serverOfferedVersion: '1.1.0', serverOfferedHash: Buffer.from([1, 2]).toString('base64'), status: S.PackageStatusEnum_Downloading, downloadDetails: { downloadPercent: 42.5, downloadBytesPerSecond: 1048576 } },
        geoip: { name: 'geoip', agentHasVersion: '2', status: S.PackageStatusEnum_Installed },
      },
    };
    const { packages } = packageStatusesMessage(stored);
    expect(packages).toEqual([
      { name: 'geoip', agentHasVersion: '2', agentHasHash: '', serverOfferedVersion: '', serverOfferedHash: '', status: 'PACKAGE_STATE_INSTALLED', errorMessage: '' },
      {
        name: 'otelcol',
        agentHasVersion: '',
        agentHasHash: '',
        serverOfferedVersion: '1.1.0',
        serverOfferedHash: '0102',
        status: 'PACKAGE_STATE_DOWNLOADING',
        errorMessage: '',
        downloadDetails: { downloadPercent: 42.5, downloadBytesPerSecond: 1048576 },
      },
    ]);
  });

  it('reads values that are not numbers as 0 (agents send data, not structure)', () => {
    const { packages } = packageStatusesMessage({ packages: { x: { status: S.PackageStatusEnum_Downloading, downloadDetails: { downloadPercent: 'lots', downloadBytesPerSecond: null } } } });
    expect(packages[0].downloadDetails).toEqual({ downloadPercent: 0, downloadBytesPerSecond: 0 });
  });
});
