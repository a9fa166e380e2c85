import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { UsersService } from '../users/users.service.js';
import { meView, type MeView } from './me.schemas.js';

@ApiTags('Users')
@ApiBearerAuth()
@Controller('me')
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'The caller: its user and the key in use' })
  @ApiOk(meView)
  @ApiErrors(403)
  async me(@CurrentUser() caller: Caller): Promise<MeView> {
    return { ...(await this.users.get(caller.userId)), key: { id: caller.keyId } };
  }
}
