/**
 * The REST mirror's catch-all: errors Nest would render in its own format
 * (from the body parser, express or Nest itself, before or around the
 * controller) get the API's error envelope and a request id instead.
 * HTTP only; gRPC errors are rendered by FleetGrpcController.
 */
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { restErrors } from './rest-body';

@Catch()
export class RestErrorsFilter implements ExceptionFilter {
  constructor(private readonly render: ReturnType<typeof restErrors>) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    this.render(exception as Parameters<ReturnType<typeof restErrors>>[0], http.getRequest(), http.getResponse());
  }
}
